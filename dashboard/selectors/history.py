"""Chart series of one queue over a range, from the stored metric snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypedDict

from dashboard.models import MetricSnapshot
from dashboard.monitor import retention

RANGES: dict[str, tuple[timedelta, str]] = {
    "5m": (timedelta(minutes=5), MetricSnapshot.RAW),
    "1h": (timedelta(hours=1), MetricSnapshot.RAW),
    "24h": (timedelta(hours=24), MetricSnapshot.MINUTE),
    "7d": (timedelta(days=7), MetricSnapshot.MINUTE),
}
MAX_POINTS = 600


class HistoryPoint(TypedDict):
    t: int  # ms since the epoch
    length: int
    lag: int | None
    pending: int
    rate_in: float | None
    rate_out: float | None


class QueueHistory(TypedDict):
    queue: str
    range: str
    span_ms: int
    resolution: str
    points: list[HistoryPoint]


def queue_history(*, name: str, range_key: str, now: datetime | None = None) -> QueueHistory:
    """Chart series for one queue over a range (5m/1h raw; 24h/7d 1-minute points),
    downsampled to at most MAX_POINTS points."""
    span, resolution = RANGES.get(range_key, RANGES["1h"])
    now = now or datetime.now(UTC)
    fields = ("at", "length", "lag", "pending", "rate_in", "rate_out")
    rows = list(
        MetricSnapshot.objects.filter(queue=name, resolution=resolution, at__gte=now - span)
        .order_by("at")
        .values(*fields)
    )
    if resolution == MetricSnapshot.MINUTE:
        # The newest minutes are not rolled up yet: roll their raw rows up here, into
        # minutes after the last stored one (raw 10 s points beside minute points made
        # false drops), so a range has one resolution.
        after = rows[-1]["at"] + timedelta(minutes=1) if rows else now - span
        tail = MetricSnapshot.objects.filter(
            queue=name, resolution=MetricSnapshot.RAW, at__gte=after
        ).order_by("at")
        rows += [
            {f: getattr(p, f) for f in fields} for p in retention.minute_points(name, list(tail))
        ]
    step = max(1, -(-len(rows) // MAX_POINTS))
    rows = rows[::step]
    return {
        "queue": name,
        "range": range_key if range_key in RANGES else "1h",
        "span_ms": int(span.total_seconds() * 1000),
        "resolution": resolution,
        "points": [
            {
                "t": int(r["at"].timestamp() * 1000),
                "length": r["length"],
                "lag": r["lag"],
                "pending": r["pending"],
                "rate_in": r["rate_in"],
                "rate_out": r["rate_out"],
            }
            for r in rows
        ],
    }
