"""Benchmark of the REAL monitor process with change-driven polling: N queues × G groups
(each group with a consumer holding pending entries), of which a share changes every second.

    python -m tests.bench.monitor_changes [--queues 10000] [--groups 3] [--cycles 60]
                                          [--interval 1] [--changing 10,100]
                                          [--per cycle|second] [--traffic flowing|piling]

Seeds a private redis-server and a throwaway SQLite database, starts ``manage.py monitor
--interval 1`` as a subprocess, and while it runs adds one entry to each of a rotating
``--changing`` percent of the queues each time the monitor completes a cycle (``--per
second``: every second instead) — one pipelined XADD per queue: its stream, and so its
groups' lag, change. Prints, per scenario, what the monitor itself recorded in
MonitorState after each cycle past the first (which reads every queue in full): the poll's
duration, Redis commands and queues checked / changed / read in full, the cycle's phases and
the period between two completed cycles; then the medians. A script, not a test (not
collected by pytest).

``--traffic flowing`` (the default), a healthy system: every group has read and acknowledged
all it was given (lag 0, nothing pending); each change is an entry added and read and
acknowledged by every group's consumer (so length, entries read and last-delivered id move
while lag and pending hold), and every consumer re-reads its own pending entries
(``XREADGROUP … 0``) every 10 s, as a consumer that is up talks to Redis, so the consumers of
still queues stay active. ``--traffic piling``: entries are only added, never read: lag piles
up (trend alerts follow) and 30 s after seeding every consumer turns inactive at once — an
incident (all 30 000 groups change status in one cycle) on top of the changing share.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench.environment import describe
from tests.bench.seeding import seed_queues
from tests.support.redis_process import RedisServer

REPO = Path(__file__).resolve().parents[2]
PHASES = ("poll", "database", "alerts", "pushes")

SEED_DB = """
from dashboard.catalog.models import QueueDefinition
names = [f"q-{{i:05d}}" for i in range({count})]
QueueDefinition.objects.bulk_create(
    [QueueDefinition(name=n, queue=n) for n in names], batch_size=500
)
"""


def seed_redis(server: RedisServer, queues: int, groups: int, caught_up: bool) -> list[str]:
    """``queues`` queues of 5 entries, each with ``groups`` groups and their consumer.
    ``caught_up``: each group has read and acknowledged all five (lag 0, nothing pending), as
    in a healthy system; else its consumer holds two pending (lag 3; they age past the
    default oldest-pending warning after 60 s)."""
    names = [f"q-{i:05d}" for i in range(queues)]
    groups_ = [f"group-{g}" for g in range(groups)]
    if caught_up:
        return seed_queues(server, names, entries=5, groups=groups_, read=5, acked=5)
    return seed_queues(server, names, entries=5, groups=groups_, read=2)


class Changer(threading.Thread):
    """One XADD to each of the next ``percent`` of the queues (rotating): every second
    (``--per second``), or each time the monitor completes a cycle (``--per cycle``,
    ``tick()``: the acceptance's "10 % of the queues change per cycle")."""

    def __init__(
        self, server: RedisServer, names: list[str], percent: int, per: str, groups: int = 0
    ) -> None:
        super().__init__(daemon=True)
        self.client = server.client()
        self.groups = groups  # > 0: each group's consumer reads and acks the new entry
        self.names = names
        self.per_tick = max(1, len(names) * percent // 100)
        self.per = per
        self.stop = threading.Event()
        self.start_at = 0

    def tick(self) -> None:
        pipe = self.client.pipeline(transaction=False)
        reads: list[tuple[str, str]] = []
        for k in range(self.per_tick):
            name = self.names[(self.start_at + k) % len(self.names)]
            key = f"sw:{{{name}}}:stream"
            pipe.xadd(key, {"payload": "{}", "ctype": "json"})
            for g in range(self.groups):
                pipe.xreadgroup(f"group-{g}", "worker", {key: ">"}, count=1)
                reads.append((key, f"group-{g}"))
        replies = pipe.execute()
        if reads:
            acks = self.client.pipeline(transaction=False)
            read_replies = [r for r in replies if not isinstance(r, (bytes, str))]
            for (key, group), reply in zip(reads, read_replies, strict=True):
                for _stream, entries in reply or []:
                    for entry_id, _fields in entries:
                        acks.xack(key, group, entry_id)
            acks.execute()
        self.start_at = (self.start_at + self.per_tick) % len(self.names)

    def run(self) -> None:
        if self.per != "second":
            return
        next_at = time.monotonic()
        while not self.stop.is_set():
            self.tick()
            next_at += 1.0
            self.stop.wait(max(0.0, next_at - time.monotonic()))


class KeepAlive(threading.Thread):
    """Every ``every`` seconds, each group's consumer re-reads its own pending entries: its
    idle time restarts (it stays active) while the stream and the group stay as they were."""

    def __init__(self, server: RedisServer, names: list[str], groups: int, every: float) -> None:
        super().__init__(daemon=True)
        self.client = server.client()
        self.names = names
        self.groups = groups
        self.every = every
        self.stop = threading.Event()

    def beat(self) -> None:
        pipe = self.client.pipeline(transaction=False)
        for name in self.names:
            key = f"sw:{{{name}}}:stream"
            for g in range(self.groups):
                pipe.xreadgroup(f"group-{g}", "worker", {key: "0"}, count=1)
            if len(pipe) >= 5000:
                pipe.execute()
        pipe.execute()

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.beat()


def read_state(path: str) -> dict[str, Any] | None:
    query = (
        "SELECT cycles, cycle_ms, phases, last_cycle_at, poll_ms, poll_commands, poll_queues"
        " FROM dashboard_monitorstate WHERE key = 'monitor'"
    )
    with sqlite3.connect(path, timeout=30) as db:
        row = db.execute(query).fetchone()
    if row is None or not row[0]:
        return None
    return {
        "cycles": row[0],
        "cycle_ms": row[1],
        "phases": json.loads(row[2] or "{}"),
        "at": datetime.fromisoformat(row[3]).replace(tzinfo=UTC).timestamp(),
        "poll_ms": row[4],
        "commands": row[5],
        "queues": json.loads(row[6] or "{}"),
    }


def run_one(args: argparse.Namespace, percent: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sw-changes-") as tmpdir:
        tmp = Path(tmpdir)
        server = RedisServer().start()
        db_path = str(tmp / "changes.sqlite3")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dashboard.settings.base",
            "DEBUG": "0",
            "DATABASE_URL": f"sqlite:///{db_path}",
            "REDIS_URL": server.url,
            "STREAMWARDEN_POLL_INTERVAL": str(args.interval),
        }
        monitor: subprocess.Popen[bytes] | None = None
        changer: Changer | None = None
        keepalive: KeepAlive | None = None
        seen: dict[int, dict[str, Any]] = {}
        try:
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput"],
                cwd=REPO, env=env, check=True, capture_output=True,
            )  # fmt: skip
            names = seed_redis(server, args.queues, args.groups, args.traffic == "flowing")
            subprocess.run(
                [sys.executable, "manage.py", "shell", "-c", SEED_DB.format(count=len(names))],
                cwd=REPO, env=env, check=True, capture_output=True,
            )  # fmt: skip
            if args.traffic == "flowing":
                keepalive = KeepAlive(server, names, args.groups, every=10.0)
                keepalive.start()
            log = open(tmp / "monitor.log", "wb")  # noqa: SIM115 - closed with the process
            monitor = subprocess.Popen(
                [sys.executable, "manage.py", "monitor", "--interval", str(args.interval)],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            deadline = time.time() + args.timeout
            # The first cycle reads every queue in full and stores every row: wait for it.
            while time.time() < deadline and not read_state(db_path):
                time.sleep(0.05)
            flowing = args.traffic == "flowing"
            changer = Changer(
                server, names, percent, args.per, groups=args.groups if flowing else 0
            )
            changer.start()
            while len(seen) < args.cycles + 2 and time.time() < deadline:
                state = read_state(db_path)
                if state and state["cycles"] not in seen:
                    seen[state["cycles"]] = state
                    if args.per == "cycle":
                        changer.tick()
                time.sleep(0.02)
        finally:
            for thread in (changer, keepalive):
                if thread is not None:
                    thread.stop.set()
                    thread.join(timeout=10)
            if monitor is not None:
                monitor.terminate()
                try:
                    monitor.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    monitor.kill()
                    monitor.wait(timeout=10)
            server.stop()
    return report(args, percent, seen)


def report(
    args: argparse.Namespace, percent: int, seen: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    # The first two recorded cycles ran before or as the changes started: left out.
    numbers = sorted(seen)[2:]
    print(
        f"\n### {args.queues:,} queues × {args.groups} groups, {percent} % changing per {args.per}, "
        f"interval {args.interval} s, traffic {args.traffic}\n"
    )
    print(
        "| cycle | period s | poll ms | commands | checked / changed / read | cycle ms | "
        + " | ".join(PHASES)
        + " |"
    )
    print(
        "| ---: | ---: | ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in PHASES) + " |"
    )
    periods, polls, commands, cycles, reads = [], [], [], [], []
    phase_ms: dict[str, list[float]] = {p: [] for p in PHASES}
    for number in numbers:
        state = seen[number]
        before = seen.get(number - 1)
        period = (state["at"] - before["at"]) if before else None
        if period is not None:
            periods.append(period)
        polls.append(state["poll_ms"])
        commands.append(state["commands"])
        cycles.append(state["cycle_ms"])
        q = state["queues"]
        reads.append(q.get("read", 0))
        for p in PHASES:
            phase_ms[p].append(state["phases"].get(p, 0.0))
        print(
            f"| {number} | {'' if period is None else f'{period:.2f}'} | {state['poll_ms']:,.0f} | "
            f"{state['commands']:,} | {q.get('checked', 0):,} / {q.get('changed', 0):,} / "
            f"{q.get('read', 0):,} | {state['cycle_ms']:,.0f} | "
            + " | ".join(f"{state['phases'].get(p, 0):,.0f}" for p in PHASES)
            + " |"
        )
    if not numbers:
        print(f"no cycle completed within {args.timeout} s")
        return {}
    med = statistics.median
    summary = {
        "percent": percent,
        "poll_ms": med(polls),
        "period_s": med(periods) if periods else None,
        "max_period_s": max(periods) if periods else None,
        "cycle_ms": med(cycles),
        "commands": med(commands),
        "read": med(reads),
        "phases": {p: med(v) for p, v in phase_ms.items()},
    }
    print(
        f"\nmedian: poll {summary['poll_ms']:,.0f} ms, period "
        f"{summary['period_s'] or 0:.2f} s (max {summary['max_period_s'] or 0:.2f} s), cycle "
        f"{summary['cycle_ms']:,.0f} ms, {summary['commands']:,.0f} commands, "
        f"{summary['read']:,.0f} queues read in full; phases (ms) "
        + ", ".join(f"{p} {v:,.0f}" for p, v in summary["phases"].items())
    )
    if len(periods) < len(numbers) - 1:
        print("(cycles that completed between two reads of the state are not listed)")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=3)
    # 60 cycles: the trend windows (60 s) fill after about 40; fewer measure a monitor
    # that has not reached its steady state.
    parser.add_argument("--cycles", type=int, default=60)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--changing", default="10,100", help="percents, comma separated")
    parser.add_argument("--per", choices=["cycle", "second"], default="cycle")
    parser.add_argument("--traffic", choices=["flowing", "piling"], default="flowing")
    args = parser.parse_args()
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
    print(describe(version.stdout.split("v=")[1].split()[0] if "v=" in version.stdout else "?"))
    for percent in (int(p) for p in args.changing.split(",")):
        run_one(args, percent)


if __name__ == "__main__":
    main()
