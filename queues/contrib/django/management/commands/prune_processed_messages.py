"""``manage.py prune_processed_messages --redis URL``: bulk-delete old ProcessedMessage rows
whose messages cannot be delivered again (see queues/contrib/django/retention.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from queues.contrib.django.retention import prune


class Command(BaseCommand):
    help = "Delete processed-message records past the retention that cannot be needed again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--redis", required=True, help="Redis URL of the queues")
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            help="seconds (default: STREAMWARDEN_ONCE_RETENTION, 7 days)",
        )
        parser.add_argument("--database", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        older = options["older_than"]
        deleted = prune(
            options["redis"],
            keep=None if older is None else timedelta(seconds=older),
            using=options["database"],
        )
        self.stdout.write(f"deleted {deleted} processed-message records")
