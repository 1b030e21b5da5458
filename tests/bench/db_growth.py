"""Database growth under the monitor's retention: snapshots and claimed alerts, simulated.

    python -m tests.bench.db_growth [--queues 100] [--groups 3] [--hours 25.5]
                                    [--claims-per-day 1000]

A throwaway SQLite file and a compressed clock. Snapshots: every snapshot interval
(STREAMWARDEN_SNAPSHOT_INTERVAL, 10 s) one raw MetricSnapshot row per queue, as the monitor
stores it (queue-level numbers plus per-group JSON), and every retention interval (60 s)
``dashboard.monitor.retention.apply_retention`` as the monitor runs it (roll raw rows up
into 1-minute points; drop raw rows after 1 h and points after 7 days). Row counts and
bytes (SQLite ``dbstat``: table plus its indexes) are read once raw retention has reached
steady state and again a simulated day later; the difference is growth per day, and the
7-day steady state follows from it. Alerts: ``--claims-per-day`` claimed rows a simulated
day for retention + 2 days, ``alerts.retention.prune`` once a day. Prints a Markdown table.
A script, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.bench.environment import cpu_model

START = datetime(2026, 1, 5, tzinfo=UTC)  # any minute boundary: the clock is simulated


def table_bytes(database: Path, table: str) -> int:
    """Bytes of ``table`` and its indexes in the file (dbstat: pages in use)."""
    with sqlite3.connect(database) as db:
        names = [table] + [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,)
            )
        ]
        marks = ",".join("?" * len(names))
        (size,) = db.execute(
            f"SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN ({marks})",  # noqa: S608
            names,
        ).fetchone()
    return int(size)


def snapshot_bodies(groups: int, rng: random.Random, count: int = 997) -> list[tuple[Any, ...]]:
    """``count`` varied row bodies (every column after ``at``), reused cyclically: drawing
    random numbers for every simulated row would take longer than the retention itself."""
    return [snapshot_body(groups, rng) for _ in range(count)]


def snapshot_body(groups: int, rng: random.Random) -> tuple[Any, ...]:
    """The columns of one raw row after ``at``, as the monitor's ``_store`` writes them
    (queue-level numbers plus per-group JSON)."""
    per_group = {
        f"group-{g}": {
            "lag": rng.randint(0, 5000),
            "pending": rng.randint(0, 200),
            "consumers": 4,
            "active_consumers": rng.randint(2, 4),
            "rate_out": round(rng.uniform(0, 500), 3),
            "status": "ok",
            "trend": "OK",
        }
        for g in range(groups)
    }
    return (
        rng.randint(1000, 100_000),
        max(g["lag"] for g in per_group.values()),
        sum(g["pending"] for g in per_group.values()),
        4 * groups,
        min(g["active_consumers"] for g in per_group.values()),
        rng.randint(0, 50),
        rng.randint(0, 60_000),
        rng.randint(0, 60_000),
        round(rng.uniform(0, 500), 3),
        round(rng.uniform(0, 500), 3),
        "ok",
        "OK",
        json.dumps(per_group),
    )


def snapshot_values(queue: str, at: datetime, body: tuple[Any, ...]) -> tuple[Any, ...]:
    """One raw row: queue, resolution, ``at`` with a poll's milliseconds, then ``body``."""
    polled = at + timedelta(milliseconds=hash(queue) % 997 + 1)
    # Django stores aware datetimes on SQLite as naive UTC text.
    return (queue, "raw", polled.replace(tzinfo=None).isoformat(" "), *body)


def insert_snapshots(rows: list[tuple[Any, ...]]) -> None:
    """Insert raw rows in one transaction; plain executemany, because building 100 model
    instances per simulated poll would make a simulated day take ten minutes."""
    from django.db import connection, transaction

    from dashboard.models import MetricSnapshot
    from dashboard.monitor.writes import SNAPSHOT_COLUMNS  # the monitor's own column order

    table = connection.ops.quote_name(MetricSnapshot._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in SNAPSHOT_COLUMNS)
    marks = ", ".join(["%s"] * len(SNAPSHOT_COLUMNS))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608


def snapshot_counts() -> tuple[int, int]:
    from dashboard.models import MetricSnapshot

    raw = MetricSnapshot.objects.filter(resolution=MetricSnapshot.RAW).count()
    minute = MetricSnapshot.objects.filter(resolution=MetricSnapshot.MINUTE).count()
    return raw, minute


def simulate_snapshots(args: argparse.Namespace, database: Path) -> dict[str, Any]:
    from dashboard import conf
    from dashboard.models import MetricSnapshot
    from dashboard.monitor.retention import apply_retention

    interval = conf.snapshot_interval()
    retention_every = conf.retention_interval()
    queues = [f"queue-{i:04d}" for i in range(args.queues)]
    bodies = snapshot_bodies(args.groups, random.Random(7))
    steps = int(args.hours * 3600 / interval)
    checkpoint_step = int((conf.raw_retention().total_seconds() + 1800) / interval)
    if steps <= checkpoint_step:
        raise SystemExit(
            f"--hours must exceed the raw retention + 0.5 h ({checkpoint_step * interval / 3600:g})"
        )
    last_retention = START
    checkpoints: list[tuple[float, int, int, int]] = []  # (hours, raw, minute, bytes)
    for step in range(steps + 1):
        at = START + timedelta(seconds=step * interval)
        insert_snapshots(
            [
                snapshot_values(q, at, bodies[(step * len(queues) + i) % len(bodies)])
                for i, q in enumerate(queues)
            ]
        )
        if (at - last_retention).total_seconds() >= retention_every:
            apply_retention(now=at)
            last_retention = at
        if step == 0:  # the rows read back through the ORM as the monitor's do
            first = MetricSnapshot.objects.get(queue=queues[0], at__gte=START)
            assert first.at.tzinfo is not None and len(first.groups) == args.groups
        if step in (checkpoint_step, steps):
            raw, minute = snapshot_counts()
            size = table_bytes(database, MetricSnapshot._meta.db_table)
            checkpoints.append((step * interval / 3600, raw, minute, size))
            print(f"  t={step * interval / 3600:5.1f} h: {raw:,} raw, {minute:,} 1-min rows")
        if step % 1080 == 0:
            print(f"  simulated {step * interval / 3600:5.1f} h", flush=True)
    (h1, raw1, min1, b1), (h2, raw2, min2, b2) = checkpoints
    per_day = 24 / (h2 - h1)
    minute_row = (b2 - b1) / (min2 - min1)  # raw rows are at steady state in between
    raw_row = (b1 - min1 * minute_row) / raw1
    minute_per_day = (min2 - min1) * per_day
    rollup_days = conf.rollup_retention().total_seconds() / 86400
    return {
        "interval": interval,
        "retention_every": retention_every,
        "raw_hours": conf.raw_retention().total_seconds() / 3600,
        "rollup_days": rollup_days,
        "simulated_hours": h2,
        "raw_rows": raw2,
        "minute_rows": min2,
        "bytes": b2,
        "raw_row_bytes": raw_row,
        "minute_row_bytes": minute_row,
        "raw_inserted_per_day": args.queues * 86400 / interval,
        "minute_per_day": minute_per_day,
        "bytes_per_day": minute_per_day * minute_row,
        "steady_minute_rows": minute_per_day * rollup_days,
        "steady_bytes": raw2 * raw_row + minute_per_day * rollup_days * minute_row,
    }


def simulate_alerts(args: argparse.Namespace, database: Path) -> dict[str, Any]:
    from alerts import conf
    from alerts.models import Alert, AlertKind, NotifyState, Severity
    from alerts.retention import prune

    days = int(conf.retention_days()) + 2
    rng = random.Random(11)
    for day in range(days):
        at = START + timedelta(days=day)
        rows = []
        for n in range(args.claims_per_day):
            message_id = f"{int(at.timestamp() * 1000) + n}-0"
            queue = f"queue-{rng.randrange(args.queues):04d}"
            details = {
                "type": "claimed",
                "queue": queue,
                "group": f"group-{rng.randrange(args.groups)}",
                "id": message_id,
                "previous_owner": f"worker-{rng.randrange(100)}",
                "new_owner": f"worker-{rng.randrange(100)}",
                "idle_ms": str(rng.randint(30_000, 90_000)),
                "deliveries": str(rng.randint(2, 4)),
                "time": str(int(at.timestamp() * 1000) + n),
            }
            rows.append(
                Alert(
                    kind=AlertKind.CLAIMED,
                    severity=Severity.WARN,
                    queue=queue,
                    group=details["group"],
                    message_id=message_id,
                    event_id=f"{details['time']}-{n}",
                    summary=f"message {message_id} claimed on {queue}/{details['group']}",
                    details=details,
                    notify_state=NotifyState.SENT,
                )
            )
        created = Alert.objects.bulk_create(rows, batch_size=500)
        # created_at is auto_now_add: move the day's rows to the simulated day.
        Alert.objects.filter(pk__in=[a.pk for a in created]).update(created_at=at)
        prune(now=at + timedelta(hours=23))
    count = Alert.objects.count()
    size = table_bytes(database, Alert._meta.db_table)
    return {
        "retention_days": conf.retention_days(),
        "simulated_days": days,
        "rows": count,
        "bytes": size,
        "row_bytes": size / count,
        "bytes_per_day": args.claims_per_day * size / count,
    }


def mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", type=int, default=100)
    parser.add_argument("--groups", type=int, default=3)
    parser.add_argument("--hours", type=float, default=25.5, help="simulated hours of polling")
    parser.add_argument("--claims-per-day", type=int, default=1000)
    args = parser.parse_args()
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="sw-bench-db-"))
    database = tmp / "growth.sqlite3"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings.test",
        DATABASE_URL=f"sqlite:///{database}",
        LOG_LEVEL="ERROR",
    )
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from django.db import connection

        with connection.cursor() as cursor:  # no fsync per simulated poll; sizes unchanged
            cursor.execute("PRAGMA synchronous = OFF")
        snaps = simulate_snapshots(args, database)
        alerts = simulate_alerts(args, database)
        file_size = database.stat().st_size
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(
        f"Database growth under retention, SQLite {sqlite3.sqlite_version}: {args.queues} "
        f"queues × {args.groups} groups, a raw snapshot per queue every "
        f"{snaps['interval']:g} s, retention run every {snaps['retention_every']:g} s "
        f"(raw kept {snaps['raw_hours']:g} h, 1-minute rollups {snaps['rollup_days']:g} days), "
        f"{snaps['simulated_hours']:g} simulated hours; alerts kept "
        f"{alerts['retention_days']:g} days at an assumed {args.claims_per_day:,} claims/day "
        f"({alerts['simulated_days']} simulated days, pruned daily). Bytes are dbstat pages in "
        f"use by the table and its indexes."
    )
    print(
        f"Simulated in {time.monotonic() - started:.0f} s on "
        + cpu_model()
        + f"; SQLite file at the end {mib(file_size)}."
    )
    print()
    print(
        "| table | rows/day written | rows/day kept | bytes/row | growth/day | steady rows | "
        "steady size |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| snapshots, raw ({snaps['raw_hours']:g} h) | {snaps['raw_inserted_per_day']:,.0f} | 0 "
        f"| {snaps['raw_row_bytes']:,.0f} | 0 (constant) | {snaps['raw_rows']:,} | "
        f"{mib(snaps['raw_rows'] * snaps['raw_row_bytes'])} |"
    )
    print(
        f"| snapshots, 1-minute ({snaps['rollup_days']:g} d) | {snaps['minute_per_day']:,.0f} | "
        f"{snaps['minute_per_day']:,.0f} until day {snaps['rollup_days']:g} | "
        f"{snaps['minute_row_bytes']:,.0f} | {mib(snaps['bytes_per_day'])} | "
        f"{snaps['steady_minute_rows']:,.0f} | "
        f"{mib(snaps['steady_minute_rows'] * snaps['minute_row_bytes'])} |"
    )
    print(
        f"| alerts, claimed ({alerts['retention_days']:g} d) | {args.claims_per_day:,} | "
        f"{args.claims_per_day:,} until day {alerts['retention_days']:g} | "
        f"{alerts['row_bytes']:,.0f} | {mib(alerts['bytes_per_day'])} | {alerts['rows']:,} | "
        f"{mib(alerts['bytes'])} |"
    )
    total = snaps["steady_bytes"] + alerts["bytes"]
    print(f"| **total** | | | | | | **{mib(total)}** |")


if __name__ == "__main__":
    main()
