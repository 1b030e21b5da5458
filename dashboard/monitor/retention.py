"""Keep the snapshot table bounded: roll raw rows up into 1-minute points, drop old rows."""

from __future__ import annotations

import json
from collections import defaultdict, namedtuple
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from dashboard import conf
from dashboard.models import MetricSnapshot
from dashboard.monitor import writes
from queues.health import worst

_MAX_FIELDS = (
    "length",
    "lag",
    "pending",
    "dead_letters",
    "oldest_pending_ms",
    "oldest_undelivered_ms",
)
_MIN_FIELDS = ("active_consumers",)
_AVG_FIELDS = ("rate_in", "rate_out")


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def _rollup_row(queue: str, minute: datetime, rows: Sequence[Any]) -> MetricSnapshot:
    """One 1-minute point as a model instance (see ``_rollup_values``)."""
    return MetricSnapshot(**_rollup_values(queue, minute, rows))


def _rollup_values(queue: str, minute: datetime, rows: Sequence[Any]) -> dict[str, Any]:
    """One 1-minute point: the worst value of each gauge, average rates, last groups."""
    values: dict[str, Any] = {}
    for name in _MAX_FIELDS:
        present = [getattr(r, name) for r in rows if getattr(r, name) is not None]
        values[name] = max(present) if present else None
    for name in _MIN_FIELDS:
        values[name] = min(getattr(r, name) for r in rows)
    for name in _AVG_FIELDS:
        present = [getattr(r, name) for r in rows if getattr(r, name) is not None]
        values[name] = sum(present) / len(present) if present else None
    last = rows[-1]
    groups = last.groups
    if isinstance(groups, str):  # ``rollup`` reads it as text: only the last row's is parsed
        groups = json.loads(groups)
    return dict(
        queue=queue,
        resolution=MetricSnapshot.MINUTE,
        at=minute,
        consumers=last.consumers,
        status=worst(r.status for r in rows),
        trend=last.trend,
        groups=groups,
        length=values["length"] or 0,
        pending=values["pending"] or 0,
        **{
            k: values[k]
            for k in ("lag", "dead_letters", "oldest_pending_ms", "oldest_undelivered_ms")
        },
        **{k: values[k] for k in _MIN_FIELDS + _AVG_FIELDS},
    )


def minute_points(queue: str, rows: list[MetricSnapshot]) -> list[MetricSnapshot]:
    """Raw rows of one queue (oldest first) as 1-minute points, the way ``rollup`` makes
    them: charts of the newest, not yet rolled-up minutes stay at one resolution."""
    buckets: dict[datetime, list[MetricSnapshot]] = defaultdict(list)
    for row in rows:
        buckets[_minute(row.at)].append(row)
    return [_rollup_row(queue, minute, bucket) for minute, bucket in buckets.items()]


_Row = namedtuple(  # noqa: PYI024 - a row as values_list reads it, with attribute access
    "_Row",
    [
        "queue",
        "at",
        "length",
        "lag",
        "pending",
        "consumers",
        "active_consumers",
        "dead_letters",
        "oldest_pending_ms",
        "oldest_undelivered_ms",
        "rate_in",
        "rate_out",
        "status",
        "trend",
        "groups",
    ],
)


def rollup(*, now: datetime, queues: Collection[str] | None = None) -> int:
    """Roll every complete minute of raw rows not yet rolled up (of ``queues`` only, when
    given: the monitor rolls a slice of its queues per cycle); returns points written."""
    points_so_far = MetricSnapshot.objects.filter(resolution=MetricSnapshot.MINUTE)
    raw = MetricSnapshot.objects.filter(resolution=MetricSnapshot.RAW, at__lt=_minute(now))
    if queues is not None:
        points_so_far = points_so_far.filter(queue__in=list(queues))
        raw = raw.filter(queue__in=list(queues))
    last_point = points_so_far.order_by("-at").values_list("at", flat=True).first()
    if last_point is not None:
        raw = raw.filter(at__gte=last_point + timedelta(minutes=1))
    # Plain tuples in, one prepared INSERT out: a minute of 10 000 queues is 10 000 points
    # (model instances and bulk_create made it seconds, every minute).
    buckets: dict[tuple[str, datetime], list[Any]] = defaultdict(list)
    # ``groups`` as its JSON text: a minute point keeps only its last row's (parsing every
    # row's was most of a rollup slice's time, issue #20).
    fields = raw.order_by("at").values_list(
        *_Row._fields[:-1], Cast("groups", output_field=TextField())
    )
    for row in fields.iterator(chunk_size=2000):
        point = _Row._make(row)
        buckets[(point.queue, _minute(point.at))].append(point)
    points = [_rollup_values(queue, minute, rows) for (queue, minute), rows in buckets.items()]
    if points:
        writes.insert_snapshots(points)
    return len(points)


def prune(*, now: datetime, limit: int | None = None) -> tuple[int, int]:
    """Delete raw rows older than the raw retention and 1-minute points older than the
    rollup retention, at most ``limit`` of each (the oldest) when given; returns how many
    of each went."""
    deleted = []
    for resolution, keep in (
        (MetricSnapshot.RAW, conf.raw_retention()),
        (MetricSnapshot.MINUTE, conf.rollup_retention()),
    ):
        old = MetricSnapshot.objects.filter(resolution=resolution, at__lt=now - keep)
        if limit is not None:
            old = MetricSnapshot.objects.filter(pk__in=old.order_by("at").values("pk")[:limit])
        count, _ = old.delete()
        deleted.append(count)
    return deleted[0], deleted[1]


def apply_retention(*, now: datetime) -> dict[str, int]:
    """Roll up, then delete raw rows older than the raw retention and 1-minute points older
    than the rollup retention. Safe to run from several monitors (idempotent)."""
    with transaction.atomic():
        written = rollup(now=now)
        raw_deleted, minute_deleted = prune(now=now)
    return {"rolled_up": written, "raw_deleted": raw_deleted, "minute_deleted": minute_deleted}
