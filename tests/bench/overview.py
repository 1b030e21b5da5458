"""Benchmark of one overview page load (its first page, 100 queues by name) at 1 000 queues
× 3 groups: live poll vs. the monitor's stored view; also /api/queues/ (500 a page), a name
search and a status filter.

    python -m tests.bench.overview [--queues 10000] [--groups 3] [--loads 5] [--history 90]

A private redis-server and a throwaway SQLite file; one monitor cycle fills QueueState,
``--history`` raw snapshots per queue stand in for 15 minutes of a running monitor (what
the live path reads for sparklines). "live" is what every page load did before: poll all
queues through the library; "monitor" reads the running monitor's last view. Prints
milliseconds (median, max) and Redis commands per load. A script, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.bench.monitor import populate
from tests.support.redis_process import RedisServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=3)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--history", type=int, default=90)
    args = parser.parse_args()
    server = RedisServer().start()
    tmp = Path(tempfile.mkdtemp(prefix="sw-bench-overview-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings.test",
        DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
        REDIS_URL=server.url,
        LOG_LEVEL="ERROR",
        ALLOWED_HOSTS="testserver",
        STREAMWARDEN_SNAPSHOT_INTERVAL="0",
    )
    try:
        run(server, args)
    finally:
        server.close()
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()


def run(server: RedisServer, args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from dashboard import selectors
    from dashboard.catalog.models import QueueDefinition
    from dashboard.models import MetricSnapshot, MonitorState
    from dashboard.monitor.counting import commands_so_far
    from dashboard.monitor.engine import Monitor

    call_command("migrate", verbosity=0)
    names = populate(server, args.queues, args.groups, 5)
    QueueDefinition.objects.bulk_create([QueueDefinition(name=n, queue=n) for n in names])
    now = datetime.now(UTC)
    MetricSnapshot.objects.bulk_create(
        (
            MetricSnapshot(queue=n, at=now - timedelta(seconds=10 * i), length=5, lag=3)
            for n in names
            for i in range(args.history)
        ),
        batch_size=2000,
    )
    monitor = Monitor(name="bench")
    monitor.cycle()
    client = Client()
    client.force_login(get_user_model().objects.create_user("bench", password="bench-pw-123"))

    def measure(label: str, fresh: bool) -> float:
        last = datetime.now(UTC) if fresh else datetime.now(UTC) - timedelta(hours=1)
        MonitorState.objects.update(last_cycle_at=last, redis_ok=True)
        selectors.overview_page()  # warm-up
        page_ms, select_ms, commands = [], [], 0
        for _ in range(args.loads):
            MonitorState.objects.update(last_cycle_at=datetime.now(UTC) if fresh else last)
            before = commands_so_far()
            started = time.perf_counter()
            rows = selectors.overview_page().rows
            select_ms.append((time.perf_counter() - started) * 1000)
            commands = commands_so_far() - before
            started = time.perf_counter()
            response = client.get("/")
            page_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
            assert len(rows) == min(args.queues, selectors.OVERVIEW_PER_PAGE), len(rows)
        sources = {r.source for r in rows}
        print(
            f"{label:8} ({'/'.join(sorted(sources))}): overview selector median "
            f"{statistics.median(select_ms):.0f} ms (max {max(select_ms):.0f}), full page GET / "
            f"median {statistics.median(page_ms):.0f} ms (max {max(page_ms):.0f}), "
            f"{commands} Redis commands per load"
        )
        return statistics.median(page_ms)

    print(f"{args.queues} queues × {args.groups} groups, {args.loads} loads each:")
    live = measure("live", fresh=False)
    stored = measure("monitor", fresh=True)
    print(f"page load {live / stored:.1f}× faster from the monitor's stored view")
    for label, path in (
        ("GET /api/queues/ (first 500)", "/api/queues/"),
        ("GET /?q=bench-01 (name search)", "/?q=bench-01"),
        ("GET /?status=alert", "/?status=alert"),
        ("GET /?page=50", "/?page=50"),
    ):
        took = []
        for _ in range(args.loads):
            started = time.perf_counter()
            response = client.get(path)
            took.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        print(f"{label:30} median {statistics.median(took):.0f} ms (max {max(took):.0f})")


if __name__ == "__main__":
    main()
