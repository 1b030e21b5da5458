"""`make bench`: throughput of StreamWarden against the raw redis-py ceiling and peer libraries,
all on one private redis-server, printed as a Markdown table (quoted in the README).

    python -m tests.bench [--messages 50000] [--repeat 5] [--only aio.Consumer --only taskiq]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import subprocess
import sys
import time
import uuid

import redis

from tests.bench.contenders import PEERS, RAW, RAW_ASYNC, Contender
from tests.support.redis_process import RedisServer


def _contenders() -> list[Contender]:
    from tests.bench.streamwarden import STREAMWARDEN, STREAMWARDEN_ASYNC

    return [RAW, *STREAMWARDEN, RAW_ASYNC, *STREAMWARDEN_ASYNC, *PEERS]


def measure(contender: Contender, url: str, n: int) -> tuple[float, float]:
    """Messages per second for producing and for consuming ``n`` messages."""
    stream = f"bench_{uuid.uuid4().hex[:8]}"
    payloads = [{"n": i, "body": "x" * 64} for i in range(n)]
    started = time.perf_counter()
    contender.produce(url, stream, payloads)
    produced = time.perf_counter() - started
    started = time.perf_counter()
    contender.consume(url, stream, n)
    consumed = time.perf_counter() - started
    redis.Redis.from_url(url).flushall()
    return n / produced, n / consumed


def measure_apart(index: int, url: str, n: int) -> tuple[float, float]:
    """``measure`` in a fresh interpreter: what one library imports or leaves behind (threads,
    objects the garbage collector must walk: importing taskiq doubles them) must not slow
    the contenders measured after it in the same process."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.bench",
            "--one",
            str(index),
            "--url",
            url,
            "--messages",
            str(n),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    produce, consume = json.loads(out.strip().splitlines()[-1])
    return produce, consume


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--only",
        action="append",
        help="measure only the contenders whose name contains this (the raw loops always)",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child: one measurement
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(_contenders()[args.one], args.url, args.messages)))
        return

    server = RedisServer().start()
    try:
        url = server.url
        version = server.client().info("server")["redis_version"]
        everyone = _contenders()
        contenders = [
            c
            for c in everyone
            if not args.only or c in (RAW, RAW_ASYNC) or any(o in c.name for o in args.only)
        ]
        runs: dict[str, list[tuple[float, float]]] = {c.name: [] for c in contenders}
        # Rounds interleave the contenders, so a slow spell of a shared machine hits all of
        # them alike instead of whichever happened to run then; each round starts one
        # contender later, so none always runs first (right after the server starts or
        # after the slow asyncio contender).
        for round_no in range(args.repeat):
            shift = round_no % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:
                result = measure_apart(everyone.index(contender), url, args.messages)
                runs[contender.name].append(result)
                print(
                    f"  round {round_no + 1} {contender.name}: "
                    f"{result[0]:,.0f} / {result[1]:,.0f} msg/s",
                    flush=True,
                )
        rows = [
            (
                c,
                statistics.median(r[0] for r in runs[c.name]),
                statistics.median(r[1] for r in runs[c.name]),
            )
            for c in contenders
        ]
    finally:
        server.close()

    def vs(name: str, baseline: str, column: int) -> float:
        """Median over rounds of the ratio to the baseline measured in the same round: on
        a shared machine whose speed swings 2-3x within minutes, a ratio of medians taken
        at different moments says more about the machine than about the contenders."""
        return statistics.median(
            mine[column] / base[column]
            for mine, base in zip(runs[name], runs[baseline], strict=True)
        )

    print()
    print(
        f"Throughput, {args.messages:,} messages of ~80 bytes, median of {args.repeat} interleaved rounds, "
        f"one producer then one consumer, no-op handler, each measurement in a fresh process; "
        f"'vs' columns: median of the per-round ratios."
    )
    print(
        f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python "
        f"{platform.python_version()}; Redis {version} on loopback; "
        f"{dt.date.today().isoformat()}."
    )
    print()
    print(
        "| contender | publish msg/s | vs raw | consume+ack msg/s | vs raw | "
        "vs raw asyncio | note |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for contender, produce, consume in rows:
        # an asyncio contender is judged against the raw redis.asyncio loop
        vs_async = f"{vs(contender.name, RAW_ASYNC.name, 1):.2f}×" if contender.asyncio else ""
        print(
            f"| {contender.name} | {produce:,.0f} | {vs(contender.name, RAW.name, 0):.0%} | "
            f"{consume:,.0f} | {vs(contender.name, RAW.name, 1):.2f}× | {vs_async} | "
            f"{contender.note} |"
        )


if __name__ == "__main__":
    main()
