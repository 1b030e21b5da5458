"""Pruning ProcessedMessage: old rows go in bulk, but never one whose message could still be
delivered again to its group.

A row may go when it is older than the retention (``STREAMWARDEN_ONCE_RETENTION`` seconds,
default 7 days) AND its message id is below the group's oldest pending entry on every level
stream of the queue: stream ids only grow, so such a message is acknowledged and nothing
delivers it again. A row at or above that entry is kept whatever its age, because its
message may still be pending (a consumer committed and died before the ack; it will be
claimed, maybe days later when the group runs again). When the group is missing from a
stream that still exists, rows at or above the stream's first entry are kept: a consumer
re-creates a lost group at 0 and would deliver all of those again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from queues.connection import RedisLike, connect
from queues.info import id_ms
from queues.keys import MAX_PRIORITY, queue_keys

DEFAULT_RETENTION = timedelta(days=7)


def retention() -> timedelta:
    """The ``STREAMWARDEN_ONCE_RETENTION`` setting (seconds), read when needed."""
    value: Any = getattr(settings, "STREAMWARDEN_ONCE_RETENTION", None)
    if value is None:
        return DEFAULT_RETENTION
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        seconds = -1.0
    if not seconds > 0:
        raise ImproperlyConfigured(
            f"STREAMWARDEN_ONCE_RETENTION must be a positive number of seconds or a timedelta, "
            f"got {value!r}"
        )
    return timedelta(seconds=seconds)


def redeliverable_from_ms(client: Any, queue: str, group: str) -> int | None:
    """Millisecond time from which a message of ``group`` may still be delivered again
    (None: none may). See the module docstring for the rule."""
    main = queue_keys(queue)
    levels = [int(v) for v in client.smembers(main.levels) if 0 < int(v) <= MAX_PRIORITY]
    floors: list[int] = []
    for level in [0, *levels]:
        stream = queue_keys(queue, level).stream
        try:
            summary = client.xpending(stream, group)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            first = client.xrange(stream, "-", "+", count=1)  # empty when no such stream
            ms = id_ms(first[0][0]) if first else None
        else:
            ms = id_ms(summary.get("min")) if summary.get("pending") else None
        if ms is not None:
            floors.append(ms)
    return min(floors) if floors else None


def prune(
    redis: RedisLike,
    *,
    keep: timedelta | None = None,
    using: str | None = None,
    now: datetime | None = None,
) -> int:
    """Delete, in one statement per (queue, group), the rows older than ``keep`` (default:
    the retention setting) whose messages cannot be delivered again; return how many."""
    from queues.contrib.django.models import ProcessedMessage

    cutoff = (now or datetime.now(UTC)) - (keep if keep is not None else retention())
    client = connect(redis)
    try:
        old = ProcessedMessage.objects.using(using).filter(processed_at__lt=cutoff)
        pairs = list(old.values_list("queue", "group").distinct())
        deleted = 0
        for queue, group in pairs:
            floor = redeliverable_from_ms(client, queue, group)
            rows = old.filter(queue=queue, group=group)
            if floor is not None:
                rows = rows.filter(message_ms__lt=floor)
            deleted += rows.delete()[0]
        return deleted
    finally:
        if client is not redis:
            client.close()
