"""``manage.py notifier``: deliver alert notifications (started by ``manage.py serve``)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.management.base import BaseCommand

from alerts.notifier import Notifier
from dashboard import live


class Command(BaseCommand):
    help = "Group due alerts into notifications and deliver them through the channel backends."
    # One misconfigured channel (alerts.E001) must not stop delivery to the others: the
    # checks are reported as warnings here, and that channel's deliveries fail in the log.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tick", type=float, default=1.0, help="Dispatcher period (s).")
        parser.add_argument("--name", default=None, help="Consumer name (default host-pid).")
        parser.add_argument(
            "--burst", action="store_true", help="Dispatch and deliver what is due now, then exit."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for problem in checks.run_checks():
            if problem.is_serious():
                self.stderr.write(f"warning: {problem}")
        notifier = Notifier(name=options["name"], tick=options["tick"])
        if options["burst"]:
            notifier.drain()
            return
        live.own_loop()  # its pushes from one event loop, on connections kept open
        self.stdout.write(f"notifier {notifier.name} running")
        # SIGTERM / SIGINT stop the library Consumer gracefully; run() then stops the rest.
        notifier.run()
        self.stdout.write("notifier stopped")
