"""Benchmark of one monitor poll at 100, 1 000 and 5 000 streams × 3 groups, in one run on
one private redis-server.

    python -m tests.bench.monitor [--sizes 100,1000,5000] [--groups 3] [--cycles 10]
                                  [--plain 1000] [--pending 20]

Prints a Markdown table of milliseconds (median, max) and Redis commands per poll cycle
(the figures the README records), with machine, Redis version and date; then the same for
``--plain`` plain streams (any stream key) × groups, including the pending-list sampling
that infers foreign claims (one XPENDING - + 1000 per group). About a minute.
A script, not a test: it is not collected by pytest.
"""

from __future__ import annotations

import argparse
import statistics
import time

from dashboard.monitor.counting import commands_so_far, counting_client
from dashboard.monitor.inferred import PendingWatch
from dashboard.monitor.poller import Target, poll
from queues import Manager
from tests.bench.environment import describe
from tests.support.redis_process import RedisServer


def populate(
    server: RedisServer, queues: int, groups: int, entries: int, *, start: int = 0
) -> list[str]:
    """Queues ``start`` .. ``queues - 1``: ``entries`` entries, ``groups`` groups, each group
    with a consumer holding two pending entries; returns their names."""
    client = server.client()
    names = [f"bench-{i:05d}" for i in range(start, queues)]
    pipe = client.pipeline(transaction=False)
    for name in names:
        key = f"sw:{{{name}}}:stream"
        for n in range(entries):
            pipe.xadd(key, {"payload": f'{{"n": {n}}}', "ctype": "json", "headers": "{}"})
        for g in range(groups):
            pipe.xgroup_create(key, f"group-{g}", id="0")
        pipe.sadd("sw:queues", name)
        if len(pipe) > 5000:
            pipe.execute()
    pipe.execute()
    pipe = client.pipeline(transaction=False)
    for name in names:  # some pending entries and a consumer per group
        for g in range(groups):
            pipe.xreadgroup(f"group-{g}", "worker", {f"sw:{{{name}}}:stream": ">"}, count=2)
        if len(pipe) > 5000:
            pipe.execute()
    pipe.execute()
    client.close()
    return names


def measure(manager: Manager, url: str, names: list[str], cycles: int) -> tuple[float, float, int]:
    """(median ms, max ms, commands) of ``cycles`` polls of ``names`` after one warm-up."""
    targets = [Target(n, n, url) for n in names]
    poll(targets, manager_for=lambda _: manager)  # warm-up (scripts, connection)
    costs = [poll(targets, manager_for=lambda _: manager).cost for _ in range(cycles)]
    ms = [c.ms for c in costs]
    return statistics.median(ms), max(ms), costs[-1].commands


def populate_plain(server: RedisServer, streams: int, groups: int, pending: int) -> list[str]:
    """Plain streams ``plain:<i>`` (not StreamWarden's layout: fields orderId, data) with
    ``groups`` groups each, every group's consumer holding ``pending`` entries."""
    client = server.client()
    keys = [f"plain:{i:05d}" for i in range(streams)]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        for n in range(pending + 5):
            pipe.xadd(key, {"orderId": str(n), "data": "x" * 40})
        for g in range(groups):
            pipe.xgroup_create(key, f"group-{g}", id="0")
            pipe.xreadgroup(f"group-{g}", "worker", {key: ">"}, count=pending)
        if len(pipe) > 5000:
            pipe.execute()
    pipe.execute()
    client.close()
    return keys


def measure_plain(
    manager: Manager, url: str, keys: list[str], cycles: int
) -> tuple[float, float, int, float, int]:
    """(median ms, max ms, commands) of whole cycles over plain streams — the poll and the
    pending-list sampling — and (median ms, commands) of the sampling alone."""
    targets = [Target(k, k, url, stream=k) for k in keys]
    streams = {k: k for k in keys}
    watch = PendingWatch(sample=1000)

    def cycle() -> tuple[float, int, float, int]:
        started, before = time.perf_counter(), commands_so_far()
        result = poll(targets, manager_for=lambda _: manager)
        sampled_at, sampled_before = time.perf_counter(), commands_so_far()
        watch.poll(result.snapshots, streams, lambda _: manager, int(time.time() * 1000))
        done = time.perf_counter()
        return (
            (done - started) * 1000,
            commands_so_far() - before,
            (done - sampled_at) * 1000,
            commands_so_far() - sampled_before,
        )

    cycle()  # warm-up, and the first view (the baseline)
    runs = [cycle() for _ in range(cycles)]
    ms = [r[0] for r in runs]
    return (
        statistics.median(ms),
        max(ms),
        runs[-1][1],
        statistics.median(r[2] for r in runs),
        runs[-1][3],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000", help="stream counts, comma separated")
    parser.add_argument("--groups", type=int, default=3)
    parser.add_argument("--entries", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--poll-interval", type=float, default=2.0)
    parser.add_argument("--plain", type=int, default=1000, help="plain streams (0: none)")
    parser.add_argument("--pending", type=int, default=20, help="pending per plain group")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    started = time.monotonic()
    server = RedisServer().start()
    rows = []
    try:
        version = server.client().info("server")["redis_version"]
        # One keyspace holding the largest size; each size polls its first N streams.
        names = populate(server, sizes[-1], args.groups, args.entries)
        manager = Manager(counting_client(server.url, timeout=30), active_idle_ms=30_000)
        for size in sizes:
            median, worst, commands = measure(manager, server.url, names[:size], args.cycles)
            rows.append((size, median, worst, commands))
            print(f"  measured {size} streams: {median:.1f} ms median", flush=True)
        plain = None
        if args.plain:
            keys = populate_plain(server, args.plain, args.groups, args.pending)
            plain = measure_plain(manager, server.url, keys, args.cycles)
            print(f"  measured {args.plain} plain streams: {plain[0]:.1f} ms median", flush=True)
    finally:
        server.close()

    print()
    print(
        f"Monitor poll cost: one cycle over N streams × {args.groups} groups "
        f"({args.entries} entries, 2 pending per group), median and max of {args.cycles} "
        f"cycles after a warm-up; share of the {args.poll_interval:g} s poll interval."
    )
    print(describe(version) + f" Whole run {time.monotonic() - started:.0f} s.")
    print()
    print(
        "| streams | groups | median ms | max ms | Redis commands / cycle | per stream | "
        "% of poll interval |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size, median, worst, commands in rows:
        share = 100 * median / 1000 / args.poll_interval
        print(
            f"| {size:,} | {args.groups} | {median:,.1f} | {worst:,.1f} | {commands:,} | "
            f"{commands / size:.1f} | {share:.1f}% |"
        )
    if plain is not None:
        median, worst, commands, sample_ms, sample_commands = plain
        print()
        print(
            f"Plain streams (any stream key, claims inferred): one cycle over {args.plain:,} "
            f"plain streams × {args.groups} groups, {args.pending} pending entries per group, "
            "poll plus pending-list sampling (XPENDING - + 1000 per group, compared with the "
            "last poll)."
        )
        print()
        print(
            "| plain streams | groups | median ms | max ms | Redis commands / cycle | "
            "of which sampling: ms, commands | % of poll interval |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        print(
            f"| {args.plain:,} | {args.groups} | {median:,.1f} | {worst:,.1f} | {commands:,} | "
            f"{sample_ms:,.1f} ms, {sample_commands:,} | "
            f"{100 * median / 1000 / args.poll_interval:.1f}% |"
        )


if __name__ == "__main__":
    main()
