# Generated from queues/aio/admin/pending.py by unasync: edit that file, then run
# `python -m tests.support.unasync_twins` (tests/queues/test_unasync_twins.py fails
# while this copy is stale).
"""The Manager's reads of pending entries (XPENDING detail), one group or many pipelined.

queues/aio/admin/pending.py is the source of both twins: queues/admin/pending.py is made
from it by unasync (``python -m tests.support.unasync_twins``; a test fails when it is
stale).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from queues import info as info_mod
from queues.admin import calls
from queues.admin.calls import PENDING_BATCH
from queues.connection import Client, unavailable_as_error
from queues.keys import queue_keys
from queues.types import PendingEntry, PlainStream


class PendingReads:
    """The pending-entry reads of queues.aio.Manager and (generated) queues.Manager."""

    client: Client
    address: str

    def pending(
        self,
        queue: str,
        group: str,
        count: int = 100,
        *,
        consumer: str | None = None,
        start: str = "-",
        end: str = "+",
        min_idle_ms: int | None = None,
    ) -> list[PendingEntry]:
        """Pending entries of the group, oldest first (XPENDING detail)."""
        with unavailable_as_error(self.address):
            try:
                rows = self.client.xpending_range(
                    queue_keys(queue).stream,
                    group,
                    min=start,
                    max=end,
                    count=count,
                    consumername=consumer,
                    idle=min_idle_ms,
                )
            except redis.ResponseError as exc:
                raise calls.group_error(queue, group, exc) from exc
        return info_mod.pending_entries(rows)

    def stream_pending(
        self, key: str | bytes, group: str | bytes, count: int = 100, *, start: str = "-"
    ) -> list[PendingEntry]:
        """Pending entries of a group of any stream, oldest first (XPENDING detail)."""
        return (self.pending_many([(PlainStream(key), group)], count, start=start))[0]

    def pending_many(
        self,
        groups: Sequence[tuple[str | PlainStream, str | bytes]],
        count: int = 100,
        *,
        start: str = "-",
    ) -> list[list[PendingEntry]]:
        """The oldest ``count`` pending entries of each (queue or PlainStream, group), in
        pipelined batches. GroupNotFound names the first group that is gone."""
        replies = self._pending_replies(groups, count, start)
        return calls.pending_lists(groups, replies, self.address)

    def pending_sample(
        self, groups: Sequence[tuple[str | PlainStream, str | bytes]], count: int = 1000
    ) -> list[list[PendingEntry] | None]:
        """Like ``pending_many`` but never failing the batch for one group: None for a
        group (or stream) that is gone, of another type, or whose reply does not decode."""
        return calls.pending_samples(self._pending_replies(groups, count, "-"))

    def _pending_replies(
        self, groups: Sequence[tuple[str | PlainStream, str | bytes]], count: int, start: str
    ) -> list[Any]:
        replies: list[Any] = []
        with unavailable_as_error(self.address):
            for offset in range(0, len(groups), PENDING_BATCH):
                pipe = self.client.pipeline(transaction=False)
                for key, group in calls.pending_targets(groups[offset : offset + PENDING_BATCH]):
                    pipe.xpending_range(key, group, min=start, max="+", count=count)
                replies += pipe.execute(raise_on_error=False)
        return replies
