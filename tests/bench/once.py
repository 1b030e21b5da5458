"""Benchmark of effectively once: consumer throughput with and without the guards.

    python -m tests.bench.once [--messages 5000] [--rounds 3] [--postgres URL]

One private redis-server. For SQLite (a file, WAL) and PostgreSQL (a database of its own on
``--postgres``, default postgresql://postgres@127.0.0.1:5432/postgres; skipped when none
answers), one consumer (batch 100) handles ``--messages`` messages whose handler adds 1 to
the message's counter row in the database:
- ``plain``: the write alone (autocommit: one transaction per message);
- ``atomic``: the write inside its own ``transaction.atomic()`` (what ``idempotent`` adds to
  that is the INSERT of the record);
- ``idempotent``: ``queues.contrib.django.idempotent``: the write and the processed-message
  record in one transaction.
Then, with a no-op handler and no database, the Redis guard: ``Consumer()`` against
``Consumer(guard=True)``. Each measurement runs in a fresh process; medians of the rounds,
interleaved. Prints a Markdown table (msg/s and µs per message, the cost per message) and
the environment. A script, not a test: it is not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parents[2]
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


def measure(redis_url: str, database_url: str, mode: str, messages: int) -> float:
    """Messages per second of one consumer run (in this process; Django configured here)."""
    from queues import Consumer, Message, Producer

    queue = f"bench-once-{uuid.uuid4().hex[:8]}"
    producer = Producer(queue, redis=redis_url)
    for start in range(0, messages, 1000):
        producer.publish_many([{"n": n} for n in range(start, min(start + 1000, messages))])
    producer.close()

    def noop(message: Message) -> None:
        return None

    handler = noop
    if mode in ("plain", "atomic", "idempotent"):
        from django.db import transaction

        from queues.contrib.django import idempotent
        from tests.support.once_effects import add_effect
        from tests.support.once_worker import configure, setup

        configure(database_url)
        setup()  # migrated, effects table and records emptied

        def write(message: Message) -> None:
            add_effect(f"{queue}:{message.payload['n']}")

        def write_atomic(message: Message) -> None:
            with transaction.atomic():
                write(message)

        handler = {"plain": write, "atomic": write_atomic, "idempotent": idempotent(write)}[mode]
    consumer = Consumer(
        queue,
        "bench",
        handler,
        redis_url,
        batch_size=100,
        handle_signals=False,
        guard=mode == "guard",
    )
    started = time.perf_counter()
    consumer.run(burst=True)
    elapsed = time.perf_counter() - started
    assert consumer.stats.processed == messages, consumer.stats
    consumer.close()
    return messages / elapsed


def child(redis_url: str, database_url: str, mode: str, messages: int) -> float:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.bench.once",
            "--child",
            json.dumps([redis_url, database_url, mode, messages]),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if out.returncode:
        raise SystemExit(f"{mode} on {database_url.split(':')[0]} failed:\n{out.stderr[-3000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def postgres_database(admin_url: str) -> tuple[str, object] | None:
    try:
        import psycopg

        conn = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - reported, the PostgreSQL rows are skipped
        print(f"(no PostgreSQL at {admin_url}: {exc}; its rows are skipped)")
        return None
    name = f"sw_bench_once_{uuid.uuid4().hex[:8]}"
    conn.execute(f'CREATE DATABASE "{name}"')
    return f"{admin_url.rsplit('/', 1)[0]}/{name}", (conn, name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--guard-messages", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=PG_DEFAULT)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        redis_url, database_url, mode, messages = json.loads(args.child)
        print(measure(redis_url, database_url, mode, messages))
        return

    from tests.bench.environment import describe
    from tests.support.redis_process import RedisServer

    server = RedisServer().start()
    pg = postgres_database(args.postgres)
    try:
        with TemporaryDirectory() as tmp:
            databases = {"SQLite": f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"}
            if pg is not None:
                databases["PostgreSQL"] = pg[0]
            runs: list[tuple[str, str, str, int]] = [
                (label, url, mode, args.messages)
                for label, url in databases.items()
                for mode in ("plain", "atomic", "idempotent")
            ]
            runs += [("Redis only", "", mode, args.guard_messages) for mode in ("noop", "guard")]
            rates: dict[tuple[str, str], list[float]] = {(r[0], r[2]): [] for r in runs}
            for round_no in range(args.rounds):
                shift = round_no % len(runs)
                for label, url, mode, messages in runs[shift:] + runs[:shift]:
                    rates[(label, mode)].append(child(server.url, url, mode, messages))
            version = server.client().info("server")["redis_version"]
    finally:
        server.close()
        if pg is not None:
            conn, name = pg[1]  # type: ignore[misc]
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.close()

    print(
        f"\nEffectively once: one consumer, batch 100, median of {args.rounds} rounds "
        f"({args.messages} messages per database run, {args.guard_messages} for Redis only)\n"
    )
    print("| database | handler | msg/s | µs / msg | guarded vs this |")
    print("| --- | --- | ---: | ---: | ---: |")
    names = {
        "plain": "write (autocommit)",
        "atomic": "write in transaction.atomic()",
        "idempotent": "**idempotent(write)**",
        "noop": "no-op",
        "guard": "**no-op, guard=True**",
    }
    rows = [(label, ("plain", "atomic"), "idempotent") for label in databases] + [
        ("Redis only", ("noop",), "guard")
    ]
    for label, bases, guarded in rows:
        guarded_rate = statistics.median(rates[(label, guarded)])
        for base in bases:
            rate = statistics.median(rates[(label, base)])
            cost = 1e6 / guarded_rate - 1e6 / rate
            print(
                f"| {label} | {names[base]} | {rate:,.0f} | {1e6 / rate:,.0f} "
                f"| {cost:+,.0f} µs / msg |"
            )
        print(f"| {label} | {names[guarded]} | {guarded_rate:,.0f} | {1e6 / guarded_rate:,.0f} | |")
    print(
        "\nAll rounds (msg/s): "
        + json.dumps({f"{k[0]}/{k[1]}": [round(r) for r in v] for k, v in rates.items()})
    )
    print(describe(version))


if __name__ == "__main__":
    main()
