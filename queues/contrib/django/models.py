"""The record of messages whose handler's transaction committed."""

from __future__ import annotations

from django.db import models


class ProcessedMessage(models.Model):
    """(queue, group, message id) of a message handled under ``idempotent``: written in the
    handler's own transaction, so it exists exactly when the handler's writes do."""

    queue = models.CharField(max_length=200)
    group = models.CharField(max_length=200)
    message_id = models.CharField(max_length=64)  # "ms-seq", at most 41 characters
    # The id's millisecond part, so pruning can compare ids in SQL (see prune()).
    message_ms = models.BigIntegerField()
    processed_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["queue", "group", "message_id"], name="queues_once_unique_message"
            )
        ]

    def __str__(self) -> str:
        return f"{self.queue}/{self.group}/{self.message_id}"
