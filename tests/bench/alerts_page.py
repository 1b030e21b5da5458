"""Benchmark of the alerts page during a claim storm: page loads and a filtered bulk
acknowledge with 5 000 (or ``--alerts``) claim alerts stored.

    python -m tests.bench.alerts_page [--alerts 5000] [--loads 5] [--database-url URL]

A throwaway SQLite file unless ``--database-url`` names a database (e.g. a PostgreSQL one
that may be dropped and re-created: its tables are migrated and filled). Prints
milliseconds (median, max) of GET /alerts/, of the grouped kind filter, and of one
"Acknowledge all" of every claim alert. A script, not a test: no Redis is needed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=5000)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sw-bench-alerts-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings.test",
        DATABASE_URL=args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}",
        LOG_LEVEL="ERROR",
        ALLOWED_HOSTS="testserver",
    )
    try:
        run(args)
    finally:
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()


def _ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples):7.1f} ms  max {max(samples):7.1f} ms"


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.core.management import call_command
    from django.test import Client

    from alerts.models import Alert, AlertKind, AlertState

    call_command("migrate", verbosity=0)
    Alert.objects.all().delete()
    Alert.objects.bulk_create(
        [
            Alert(
                kind=AlertKind.CLAIMED,
                queue=f"orders-{i % 20}",
                group="billing",
                message_id=f"{i}-0",
                event_id=f"bench-{i}",
                summary=f"message {i}-0 claimed from ledger-{i % 7}",
                details={"consumer": f"ledger-{i % 7}", "deliveries": 3},
            )
            for i in range(args.alerts)
        ],
        batch_size=2000,
    )
    user, _ = get_user_model().objects.get_or_create(username="bench-ops")
    user.user_permissions.add(Permission.objects.get(codename="change_alert"))
    client = Client()
    client.force_login(user)
    client.get("/alerts/")  # warm: templates, connections

    for label, url in (
        ("GET /alerts/", "/alerts/"),
        ("GET /alerts/?kind=claimed", "/alerts/?kind=claimed"),
    ):
        samples = []
        for _ in range(args.loads):
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        print(f"{label:28} {args.alerts} alerts: {_ms(samples)}")
    started = time.perf_counter()
    response = client.post("/alerts/bulk/", {"kind": "claimed", "action": "acknowledge_all"})
    took = (time.perf_counter() - started) * 1000
    acked = Alert.objects.filter(state=AlertState.ACKNOWLEDGED).count()
    print(f"{'acknowledge all (filtered)':28} {acked} alerts: {took:7.1f} ms")


if __name__ == "__main__":
    main()
