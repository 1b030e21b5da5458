"""Benchmark of the REAL monitor process in an incident: N queues × G groups with no
consumers at all, every group breaching its thresholds at once (tens of thousands of
status alerts to open in the first cycle).

    python -m tests.bench.monitor_storm [--queues 10000] [--groups 3] [--cycles 6]
                                        [--interval 1] [--db sqlite|postgres|both]
                                        [--resolve-after N]

Seeds a private redis-server and a throwaway database (a SQLite file, or a database on the
PostgreSQL at $BENCH_POSTGRES, default postgresql://postgres@127.0.0.1:5432), starts
``manage.py monitor --interval 1`` as a subprocess, and prints what the monitor itself
reported in MonitorState after each cycle: the cycle's duration per phase, the period
between two completed cycles, and the alerts open. With ``--resolve-after N``, once N
cycles have completed every group gets a consumer that reads and acknowledges its entries,
so the storm resolves: the table then gives the alerts open after each cycle, and the
cycle that resolved them is marked. A script, not a test (not collected).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench.environment import describe
from tests.bench.seeding import seed_queues
from tests.support.redis_process import RedisServer

REPO = Path(__file__).resolve().parents[2]


def seed_redis(server: RedisServer, queues: int, groups: int) -> list[str]:
    """``queues`` queues of 3 entries, each with ``groups`` groups and no consumer."""
    names = [f"storm-{i:05d}" for i in range(queues)]
    return seed_queues(server, names, entries=3, groups=[f"group-{g}" for g in range(groups)])


def consume_all(server: RedisServer, names: list[str], groups: int) -> None:
    """Every group of every queue gets a consumer that reads and acknowledges all its
    entries: no lag, nothing pending, one active consumer (the incident is over). Called
    again, the consumer reads again (its idle time starts over)."""
    client = server.client()
    keys = [(f"sw:{{{name}}}:stream", f"group-{g}") for name in names for g in range(groups)]
    for start in range(0, len(keys), 5000):
        chunk = keys[start : start + 5000]
        pipe = client.pipeline(transaction=False)
        for key, group in chunk:
            pipe.xreadgroup(group, "worker-1", {key: ">"}, count=100)
        replies = pipe.execute()
        pipe = client.pipeline(transaction=False)
        for (key, group), reply in zip(chunk, replies, strict=True):
            ids = [entry_id for _, entries in reply or [] for entry_id, _ in entries]
            if ids:
                pipe.xack(key, group, *ids)
        pipe.execute()
    client.close()


def database_url(kind: str, tmp: Path) -> tuple[str, Any]:
    """(DATABASE_URL, cleanup) of a fresh database."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'storm.sqlite3'}", lambda: None
    import psycopg

    base = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
    name = f"sw_storm_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base}/{name}", drop


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, check=True, capture_output=True
    )


SEED_DB = """
from dashboard.catalog.models import QueueDefinition, Threshold
names = [f"storm-{{i:05d}}" for i in range({count})]
QueueDefinition.objects.bulk_create(
    [QueueDefinition(name=n, queue=n) for n in names], batch_size=500
)
Threshold.objects.bulk_create(
    [Threshold(queue=d, lag_warn=1, lag_alert=2, active_consumers_warn=0.5,
               active_consumers_alert=0.5) for d in QueueDefinition.objects.all()],
    batch_size=500,
)
"""


def read_state(kind: str, url: str, *, count: bool = False) -> dict[str, Any] | None:
    """What the monitor last recorded (read with plain SQL, as another process would)."""
    query = (
        "SELECT cycles, cycle_ms, phases, last_cycle_at FROM dashboard_monitorstate"
        " WHERE key = 'monitor'"
    )
    opened = "SELECT count(*) FROM alerts_alert WHERE state = 'open'"
    if kind == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as db:
            row = db.execute(query).fetchone()
            total = db.execute(opened).fetchone()[0] if count else None
        if row is None:
            return None
        at = datetime.fromisoformat(row[3]).replace(tzinfo=UTC).timestamp() if row[3] else None
        phases = json.loads(row[2])
    else:
        import psycopg

        with psycopg.connect(url) as conn:
            row = conn.execute(query).fetchone()
            total = conn.execute(opened).fetchone()[0] if count else None  # type: ignore[index]
        if row is None:
            return None
        at = row[3].timestamp() if row[3] else None
        phases = row[2]
    return {"cycles": row[0], "cycle_ms": row[1], "phases": phases, "at": at, "open": total}


def run_one(args: argparse.Namespace, kind: str) -> None:
    with tempfile.TemporaryDirectory(prefix="sw-storm-") as tmpdir:
        tmp = Path(tmpdir)
        server = RedisServer().start()
        url, drop = database_url(kind, tmp)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dashboard.settings.base",
            "DEBUG": "0",
            "DATABASE_URL": url,
            "REDIS_URL": server.url,
            "STREAMWARDEN_POLL_INTERVAL": str(args.interval),
        }
        monitor: subprocess.Popen[bytes] | None = None
        try:
            manage(env, "migrate", "--noinput")
            names = seed_redis(server, args.queues, args.groups)
            manage(env, "shell", "-c", SEED_DB.format(count=len(names)))
            log = open(tmp / "monitor.log", "wb")  # noqa: SIM115 - closed with the process
            started = time.time()
            monitor = subprocess.Popen(
                [sys.executable, "manage.py", "monitor", "--interval", str(args.interval)],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            seen: dict[int, dict[str, Any]] = {}
            deadline = started + args.timeout
            count = args.resolve_after > 0
            given_after: int | None = None  # the last cycle completed before the consumers
            read_at = 0.0  # when they last read
            while len(seen) < args.cycles and time.time() < deadline:
                state = read_state(kind, url)
                if state and state["cycles"] and state["cycles"] not in seen:
                    if count:  # counted once per cycle, not at every read
                        state["open"] = (read_state(kind, url, count=True) or state)["open"]
                    seen[state["cycles"]] = state
                    if given_after is None and max(seen) >= args.resolve_after > 0:
                        consume_all(server, names, args.groups)
                        given_after, read_at = max(seen), time.time()
                    elif given_after is not None and time.time() - read_at > 10:
                        # The consumers keep reading: idle over STREAMWARDEN_ACTIVE_IDLE
                        # (30 s) they would count as gone, and the alerts open again.
                        consume_all(server, names, args.groups)
                        read_at = time.time()
                time.sleep(0.05)
            final = read_state(kind, url, count=True) or {"open": None}
        finally:
            try:
                if monitor is not None:
                    monitor.terminate()  # lets a cycle under way finish, then releases
                    try:
                        monitor.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        monitor.kill()
                        monitor.wait(timeout=10)
            finally:
                server.stop()
                drop()
        report(kind, args, started, seen, final, given_after)


def report(
    kind: str,
    args: argparse.Namespace,
    started: float,
    seen: dict[int, dict[str, Any]],
    final: dict[str, Any],
    given_after: int | None = None,
) -> None:
    print(
        f"\n### {kind}: {args.queues} queues × {args.groups} groups, no consumers, "
        f"interval {args.interval} s — {final['open']} alerts open\n"
    )
    print(
        "| cycle | ended at (s after start) | period (s) | cycle ms | poll | database | alerts | pushes |"
        + (" open after |" if given_after else "")
    )
    print(
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        + (" ---: |" if given_after else "")
    )
    previous = None
    for number in sorted(seen):
        state = seen[number]
        period = "" if previous is None else f"{state['at'] - previous:.2f}"
        phases = state["phases"] or {}
        print(
            f"| {number} | {state['at'] - started:.2f} | {period} | {state['cycle_ms']:,.0f} | "
            + " | ".join(
                f"{phases.get(p, 0):,.0f}" for p in ("poll", "database", "alerts", "pushes")
            )
            + " |"
            + (f" {state['open']:,} |" if given_after else "")
        )
        previous = state["at"]
    if len(seen) < args.cycles:
        print(f"\nonly {len(seen)} cycles completed within {args.timeout} s")
    if given_after:
        # The resolving cycle: the one after which the most alerts were no longer open.
        numbers = sorted(seen)
        drops = [
            (seen[a]["open"] - seen[b]["open"], b)
            for a, b in zip(numbers, numbers[1:], strict=False)
            if a >= given_after and seen[a]["open"] is not None and seen[b]["open"] is not None
        ]
        if drops:
            resolved, number = max(drops)
            print(
                f"\nconsumers given after cycle {given_after}; cycle {number} resolved "
                f"{resolved:,} alerts in {seen[number]['cycle_ms']:,.0f} ms "
                f"(alerts phase {(seen[number]['phases'] or {}).get('alerts', 0):,.0f} ms)"
            )
    print("\n(cycles that completed between two reads of the state are not listed)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=3)
    parser.add_argument("--cycles", type=int, default=6)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument(
        "--resolve-after",
        type=int,
        default=0,
        help="give every group a consumer once this many cycles have completed",
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
    print(describe(version.stdout.split("v=")[1].split()[0] if "v=" in version.stdout else "?"))
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        run_one(args, kind)


if __name__ == "__main__":
    main()
