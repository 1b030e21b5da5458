"""`manage.py monitor` — poll every watched queue on a schedule (see dashboard.monitor)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from dashboard.monitor import scheduler
from dashboard.monitor.engine import Monitor


class Command(BaseCommand):
    help = "Poll the watched queues, store snapshots, evaluate thresholds, push live updates."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=None, help="Seconds between polls.")
        parser.add_argument("--name", default="", help="Name of this monitor in the lease.")

    def handle(self, *args: Any, interval: float | None, name: str, **options: Any) -> None:
        scheduler.run(Monitor(name=name), interval=interval)
