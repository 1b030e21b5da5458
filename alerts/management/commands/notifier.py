"""``manage.py notifier``: deliver alert notifications (started by ``manage.py serve``)."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand

from alerts.notifier import Notifier


class Command(BaseCommand):
    help = "Group due alerts into notifications and deliver them through the channel backends."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tick", type=float, default=1.0, help="Dispatcher period (s).")
        parser.add_argument("--name", default=None, help="Consumer name (default host-pid).")

    def handle(self, *args: Any, **options: Any) -> None:
        notifier = Notifier(name=options["name"], tick=options["tick"])

        def stop(signum: int, frame: Any) -> None:
            notifier.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"notifier {notifier.name} running")
        notifier.run()
        self.stdout.write("notifier stopped")
