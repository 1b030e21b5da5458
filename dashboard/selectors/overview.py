"""The overview: one row per enabled queue, from the monitor's stored view or polled live,
filtered by name and status and paged."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.catalog.models import QueueDefinition
from dashboard.models import MetricSnapshot, QueueState
from dashboard.selectors.live import live_snapshots
from dashboard.selectors.monitor import monitor_fresh

SPARK_POINTS = 30
STATUSES = ("ok", "warn", "alert")
OVERVIEW_PER_PAGE = 100
OVERVIEW_MAX_PER_PAGE = 1000


@dataclass(frozen=True)
class QueueRow:
    """What the overview shows of one queue."""

    name: str
    queue: str
    snapshot: dict[str, Any]
    sparkline: list[int]
    error: str = ""
    source: str = "live"  # "monitor": the monitor's stored view; "live": polled now


@dataclass(frozen=True)
class OverviewPage:
    """One page of the overview: its rows and where it sits among the queues that match."""

    rows: list[QueueRow]
    total: int  # enabled queues matching search and status
    page: int
    pages: int
    per_page: int
    search: str = ""
    status: str = ""


def queue_overview() -> list[QueueRow]:
    """Every enabled queue with its numbers, status, trend and a lag sparkline.

    While the monitor is running and reaching Redis, this reads its latest stored view
    (QueueState: one query, no Redis command; statuses at most one poll interval old, figures
    at most STREAMWARDEN_STATE_FIGURES_EVERY — the page is kept current by the websocket
    anyway). Only queues the monitor has not stored yet, or all of them when the monitor is
    down, are polled live.
    """
    return _overview_rows(list(QueueDefinition.objects.filter(enabled=True)), monitor_fresh())


def overview_page(
    *, search: str = "", status: str = "", page: int = 1, per_page: int = OVERVIEW_PER_PAGE
) -> OverviewPage:
    """One page (by name) of the enabled queues whose name contains ``search`` and whose
    status is ``status`` (any when empty).

    With the monitor's stored view, name and status are filtered in the database and only
    the page's rows are read (a queue the monitor has not stored yet has no status to match
    and is polled live only when on the page). With the monitor down, a status filter needs
    every matching queue polled, as the whole overview did before.
    """
    if status and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    per_page = max(1, min(per_page, OVERVIEW_MAX_PER_PAGE))
    definitions = QueueDefinition.objects.filter(enabled=True).order_by("name")
    if search:
        definitions = definitions.filter(name__icontains=search)
    fresh = monitor_fresh()
    if status and not fresh:
        rows = [
            r
            for r in _overview_rows(list(definitions), fresh)
            if r.snapshot.get("status") == status
        ]
        total = len(rows)
        pages = max(1, -(-total // per_page))
        page = max(1, min(page, pages))
        rows = rows[(page - 1) * per_page : page * per_page]
    else:
        if status:
            definitions = definitions.filter(
                name__in=QueueState.objects.filter(data__status=status).values("queue")
            )
        total = definitions.count()
        pages = max(1, -(-total // per_page))
        page = max(1, min(page, pages))
        chosen = list(definitions[(page - 1) * per_page : page * per_page])
        rows = _overview_rows(chosen, fresh)
    return OverviewPage(rows, total, page, pages, per_page, search, status)


def _overview_rows(definitions: list[QueueDefinition], fresh: bool) -> list[QueueRow]:
    stored: dict[str, tuple[dict[str, Any], list[int]]] = {}
    if fresh:
        stored = {
            queue: (data, sparkline)
            for queue, data, sparkline in QueueState.objects.filter(
                queue__in=[d.name for d in definitions]
            ).values_list("queue", "data", "sparkline")
        }
    missing = [d for d in definitions if d.name not in stored]
    live = live_snapshots(missing) if missing else {}
    sparks = _sparklines([d.name for d in missing]) if missing else {}
    rows = []
    for d in definitions:
        if d.name in stored:
            data, line = stored[d.name]
            unread = str(data.get("unreadable") or "")
            rows.append(QueueRow(d.name, d.queue_name, data, list(line or []), unread, "monitor"))
        else:
            snap = live[d.name]
            rows.append(
                QueueRow(
                    d.name,
                    d.queue_name,
                    snap.as_json(),
                    sparks.get(d.name, []),
                    snap.error or snap.unreadable,
                    "live",
                )
            )
    return rows


def _sparklines(names: list[str]) -> dict[str, list[int]]:
    since = datetime.now(UTC) - timedelta(minutes=15)
    lines: dict[str, list[int]] = defaultdict(list)
    rows = (
        MetricSnapshot.objects.filter(queue__in=names, resolution=MetricSnapshot.RAW, at__gte=since)
        .order_by("at")
        .values_list("queue", "lag", "length")
    )
    for queue, lag, length in rows:
        lines[queue].append(int(lag if lag is not None else length))
    return {name: values[-SPARK_POINTS:] for name, values in lines.items()}


def rows_as_json(rows: list[QueueRow]) -> list[dict[str, Any]]:
    return [asdict(row) for row in rows]
