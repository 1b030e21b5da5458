"""Reads for pages and the API. Views call these; nothing here writes."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from dashboard import conf
from dashboard.catalog.models import METRICS, QueueDefinition, Threshold
from dashboard.models import (
    AuditLog,
    ClaimStorm,
    MetricSnapshot,
    MonitorLease,
    MonitorState,
    QueueState,
)
from dashboard.monitor import enrich, retention, trimrisk
from dashboard.monitor.library import manager_for
from dashboard.monitor.poller import Target, poll
from dashboard.monitor.types import QueueSnapshot
from queues.keys import queue_keys
from queues.types import DeadLetter

RANGES: dict[str, tuple[timedelta, str]] = {
    "5m": (timedelta(minutes=5), MetricSnapshot.RAW),
    "1h": (timedelta(hours=1), MetricSnapshot.RAW),
    "24h": (timedelta(hours=24), MetricSnapshot.MINUTE),
    "7d": (timedelta(days=7), MetricSnapshot.MINUTE),
}
MAX_POINTS = 600
SPARK_POINTS = 30
PREVIEW_CHARS = 2000
REDIS_ERRORS = (redis.RedisError, ConnectionError, OSError)


@dataclass(frozen=True)
class QueueRow:
    """What the overview shows of one queue."""

    name: str
    queue: str
    snapshot: dict[str, Any]
    sparkline: list[int]
    error: str = ""
    source: str = "live"  # "monitor": the monitor's stored view; "live": polled now


def _target(definition: QueueDefinition) -> Target:
    return Target(
        definition.name,
        definition.queue_name,
        definition.effective_redis_url(),
        tuple(definition.groups),
        definition.stream,
    )


def _live(definitions: list[QueueDefinition]) -> dict[str, QueueSnapshot]:
    """A live poll of ``definitions`` with threshold status; what only a series of polls
    can tell (trend, rates, claim stats) comes from the monitor's latest state, and the
    forecasts are recomputed from the live lag and those rates."""
    rows = list(Threshold.objects.all())
    result = poll(
        [_target(d) for d in definitions],
        manager_for=manager_for,
        active_idle_ms=int(conf.active_idle() * 1000),
        caps=conf.caps(),
    )
    by_name = {d.name: d for d in definitions}
    names = [d.name for d in definitions]
    states = _states(names)
    latest = _latest_stored([n for n in names if n not in states])
    out: dict[str, QueueSnapshot] = {}
    for snap in result.snapshots:
        thresholds = Threshold.effective_for(by_name[snap.name], rows=rows)
        state = states.get(snap.name)
        stored = latest.get(snap.name)
        if state is not None:
            previous_groups = {g["name"]: g for g in state.get("groups", [])}
            rate_in, rate_out, trend = state.get("rate_in"), state.get("rate_out"), state["trend"]
        else:
            previous_groups = dict(stored.groups) if stored else {}
            rate_in = stored.rate_in if stored else None
            rate_out = stored.rate_out if stored else None
            trend = stored.trend if stored else "OK"
        out[snap.name] = enrich.from_stored(
            snap,
            previous_groups=previous_groups,
            rate_in=rate_in,
            rate_out=rate_out,
            trend_state=trend,
            thresholds=thresholds,
            maxlen=by_name[snap.name].maxlen,
        )
    return out


def _states(names: list[str]) -> dict[str, dict[str, Any]]:
    """The monitor's latest stored view (QueueState.data) of each named queue."""
    return dict(QueueState.objects.filter(queue__in=names).values_list("queue", "data"))


def _latest_stored(names: list[str]) -> dict[str, MetricSnapshot]:
    since = datetime.now(UTC) - timedelta(minutes=5)
    latest: dict[str, MetricSnapshot] = {}
    rows = MetricSnapshot.objects.filter(
        queue__in=names, resolution=MetricSnapshot.RAW, at__gte=since
    ).order_by("at")
    for row in rows:
        latest[row.queue] = row
    return latest


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


def queue_overview() -> list[QueueRow]:
    """Every enabled queue with its numbers, status, trend and a lag sparkline.

    While the monitor is running and reaching Redis, this reads its latest stored view
    (QueueState: one query, no Redis command, at most one poll interval old — the page is
    kept current by the websocket anyway). Only queues the monitor has not stored yet, or
    all of them when the monitor is down, are polled live.
    """
    return _overview_rows(list(QueueDefinition.objects.filter(enabled=True)), monitor_fresh())


STATUSES = ("ok", "warn", "alert")
OVERVIEW_PER_PAGE = 100
OVERVIEW_MAX_PER_PAGE = 1000


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
    live = _live(missing) if missing else {}
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


def monitor_fresh() -> bool:
    """Whether the monitor's stored view can stand in for a live poll: it reported within
    the staleness limit and could reach Redis."""
    state = monitor_state()
    return bool(state.get("running")) and state.get("redis_ok") is True


def queue_get(*, name: str) -> QueueDefinition:
    return get_object_or_404(QueueDefinition, name=name)


def queue_detail(*, definition: QueueDefinition) -> dict[str, Any]:
    """The queue page's data: live snapshot with groups and consumers, thresholds, cost."""
    snap = _live([definition])[definition.name]
    thresholds = Threshold.effective_for(definition)
    return {
        "name": definition.name,
        "queue": definition.queue_name,
        "plain": definition.is_plain,
        "notes": definition.notes,
        "groups_watched": definition.groups,
        "snapshot": snap.as_json(),
        "thresholds": thresholds.as_dict(),
        "threshold_rows": [
            {
                "metric": m.key,
                "label": m.label,
                "warn": thresholds.levels[m.key].warn,
                "alert": thresholds.levels[m.key].alert,
                "unit": m.unit,
                "worse": "higher" if m.higher_is_worse else "lower",
            }
            for m in METRICS
        ],
        "monitor": monitor_state(),
        "claims": claim_summary(definition=definition, snapshot=snap),
    }


def trim_risk(*, definition: QueueDefinition, maxlen: int) -> dict[str, Any]:
    """What trimming the queue to ``maxlen`` would drop (live numbers from the library),
    beside what the library's safe trim would remove."""
    snap = _live([definition])[definition.name]
    risk = trimrisk.for_snapshot(snap, maxlen)
    if risk is None:
        return {"maxlen": maxlen, "exists": False, "level": "ok", "detail": "no such stream"}
    return {"exists": True, **asdict(risk)}


def claim_summary(*, definition: QueueDefinition, snapshot: QueueSnapshot) -> dict[str, Any]:
    """Claim storms and poison suspects of a queue: per group the claim rate and the
    messages bouncing between owners (from the monitor), the pending entries delivered
    most often (from an XPENDING sample), and the queue's recent storm incidents."""
    suspect_at = conf.poison_deliveries()
    groups = []
    for group in snapshot.groups:
        top = top_deliveries(definition=definition, group=group.name) if snapshot.exists else []
        groups.append(
            {
                "group": group.name,
                "claims": group.claims,
                "claim_rate": group.claim_rate,
                "storm": group.storm,
                "bouncing": [asdict(b) for b in group.bouncing],
                "top_deliveries": top,
                "poison_suspects": [e["id"] for e in top if e["deliveries"] >= suspect_at],
            }
        )
    return {
        "window_seconds": conf.storm_window(),
        "storm_claims": conf.storm_claims(),
        "poison_deliveries": suspect_at,
        "storm": snapshot.storm,
        "groups": groups,
        "incidents": [s.as_json() for s in ClaimStorm.objects.filter(queue=definition.name)[:10]],
    }


def top_deliveries(
    *, definition: QueueDefinition, group: str, top: int = 5
) -> list[dict[str, Any]]:
    """The pending entries of ``group`` delivered most often, within the pending sample
    (the oldest STREAMWARDEN_PENDING_SAMPLE entries: where stuck messages sit)."""
    try:
        sample = pending_entries(definition=definition, group=group)
    except LookupError:  # the group went away between the poll and this read
        return []
    sample.sort(key=lambda e: (e["deliveries"], e["idle_ms"]), reverse=True)
    return [e for e in sample[:top] if e["deliveries"] > 1]


def pending_entries(
    *, definition: QueueDefinition, group: str, count: int | None = None
) -> list[dict[str, Any]]:
    """Pending entries of a group (oldest first) with idle time and delivery count."""
    manager = manager_for(definition.effective_redis_url())
    count = count or conf.pending_sample()
    if definition.is_plain:
        entries = manager.stream_pending(definition.stream, group, count)
    else:
        entries = manager.pending(definition.queue_name, group, count=count)
    return [
        {
            "id": str(e.id),
            "consumer": str(e.consumer),
            "idle_ms": int(e.idle_ms),
            "deliveries": int(e.deliveries),
        }
        for e in entries
    ]


def _preview(value: Any) -> str:
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
    elif isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    return text[:PREVIEW_CHARS]


#: Dead letters scanned (newest first) to find one by its original id.
MAX_DEAD_SCAN = 10_000


def _dead_letter_row(letter: DeadLetter, payloads: bool) -> dict[str, Any]:
    payload = letter.payload_raw if letter.payload_raw is not None else letter.payload
    return {
        "id": str(letter.id),
        "original_id": str(letter.original_id),
        "reason": str(letter.reason),
        "error": str(letter.error),
        "traceback": str(letter.traceback),
        "deliveries": int(letter.deliveries or 0),
        "group": str(letter.group),
        "consumer": str(letter.consumer),
        "failed_at_ms": letter.failed_at_ms,
        "payload": _preview(payload) if payloads else None,
        "payload_hidden": not payloads,
    }


def dead_letters(
    *, definition: QueueDefinition, count: int = 50, payloads: bool = False
) -> list[dict[str, Any]] | None:
    """The newest dead letters with a payload preview (plain text: templates/JS escape it)
    when ``payloads`` (the view_payloads permission), else ``payload`` None and
    ``payload_hidden``; None for a plain stream (it has no dead letters StreamWarden could
    know of)."""
    page = dead_letter_page(definition=definition, count=count, payloads=payloads)
    return None if page is None else page["dead_letters"]


def dead_letter_page(
    *,
    definition: QueueDefinition,
    count: int = 50,
    payloads: bool = False,
    before: str = "",
    at: str = "",
    original: str = "",
) -> dict[str, Any] | None:
    """One page of dead letters, newest first: the newest ones, those older than the dead
    id ``before``, those from the dead id ``at`` on, or those from the one whose ORIGINAL
    id is ``original`` on (found by scanning at most MAX_DEAD_SCAN, newest first; ``found``
    says whether it was). With ``total``, ``older`` (the cursor of the next page, or None)
    and ``newer`` (whether newer ones exist). None for a plain stream."""
    if definition.is_plain:
        return None
    manager = manager_for(definition.effective_redis_url())
    queue = definition.queue_name
    found: bool | None = None
    end = "+"
    if original:
        found = False
        cursor = "+"
        for _ in range(0, MAX_DEAD_SCAN, 500):
            chunk = manager.dead_letters(queue, 500, end=cursor, newest_first=True)
            hit = next((d for d in chunk if str(d.original_id) == original), None)
            if hit is not None:
                found, end = True, str(hit.id)
                break
            if len(chunk) < 500:
                break
            cursor = f"({chunk[-1].id}"
    elif at:
        end = at
    elif before:
        end = f"({before}"
    letters = manager.dead_letters(queue, count + 1, end=end, newest_first=True)
    older = str(letters[count - 1].id) if len(letters) > count else None
    letters = letters[:count]
    newer = bool(letters) and bool(
        manager.dead_letters(queue, 1, start=f"({letters[0].id}", newest_first=True)
    )
    return {
        "dead_letters": [_dead_letter_row(d, payloads) for d in letters],
        "total": manager.dead_letter_count(queue),
        "older": older,
        "newer": newer,
        "found": found,
    }


def locate_entry(*, definition: QueueDefinition, entry_id: str) -> dict[str, Any]:
    """Where entry ``entry_id`` is now: still in the stream or not, pending in which
    group with which owner, dead-lettered (library queues; among the newest MAX_DEAD_SCAN).
    What an alert's link says when the entry left the pending list."""
    manager = manager_for(definition.effective_redis_url())
    if definition.is_plain:
        key: str | bytes = definition.stream
        info = manager.stream_info(key)
    else:
        key = queue_keys(definition.queue_name).stream
        info = manager.info(definition.queue_name)
    in_stream = bool(manager.stream_entries(key, start=entry_id, end=entry_id, count=1))
    pending = []
    for group in info.groups:
        if definition.is_plain:
            rows = manager.stream_pending(key, group.name, 1, start=entry_id)
        else:
            rows = manager.pending(
                definition.queue_name, group.name, 1, start=entry_id, end=entry_id
            )
        for row in rows:
            if str(row.id) == entry_id:
                pending.append(
                    {
                        "group": str(group.name),
                        "consumer": str(row.consumer),
                        "idle_ms": int(row.idle_ms),
                        "deliveries": int(row.deliveries),
                    }
                )
    dead = None
    if not definition.is_plain:
        page = dead_letter_page(definition=definition, count=1, original=entry_id)
        dead = page["dead_letters"][0]["id"] if page and page["found"] else None
    return {"id": entry_id, "in_stream": in_stream, "pending": pending, "dead_letter": dead}


def queue_history(*, name: str, range_key: str, now: datetime | None = None) -> dict[str, Any]:
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


def monitor_state() -> dict[str, Any]:
    """What the active monitor last reported; ``stale`` when it has not reported lately."""
    state = MonitorState.objects.filter(key="monitor").first()
    lease = MonitorLease.objects.filter(key="monitor").first()
    held = (
        None
        if lease is None
        else {
            "holder": lease.holder,
            "since": lease.acquired_at.isoformat(),
            "expires_at": lease.expires_at.isoformat(),
            "expired": lease.expires_at <= datetime.now(UTC),
        }
    )
    # Seconds without a monitor report after which data counts as stale (pages warn too).
    stale_after = max(10.0, 5 * conf.poll_interval())
    if state is None:
        return {
            "running": False,
            "redis_ok": None,
            "stale": True,
            "down": False,
            "lease": held,
            "stale_after": int(stale_after),
        }
    data: dict[str, Any] = state.as_json()
    age = (datetime.now(UTC) - state.last_cycle_at).total_seconds() if state.last_cycle_at else None
    data["stale"] = age is None or age > stale_after
    data["stale_after"] = int(stale_after)
    data["running"] = not data["stale"]
    # what the notifier's dead man's switch alerts on (alerts.deadman)
    data["down"] = age is None or age > conf.monitor_down_after()
    data["lease"] = held
    return data


def audit_entries(*, target_prefix: str = "", limit: int = 20) -> list[AuditLog]:
    qs = AuditLog.objects.all()
    if target_prefix:
        qs = qs.filter(target__startswith=target_prefix)
    return list(qs[:limit])


AUDIT_PAGE_SIZE = 100


@dataclass(frozen=True)
class AuditFilters:
    user: str = ""
    action: str = ""
    queue: str = ""


def audit_log(*, filters: AuditFilters) -> QuerySet[AuditLog]:
    """Every operator action (queue actions, alert acknowledge/resolve, denied attempts),
    newest first, filtered by user name, action and queue."""
    qs = AuditLog.objects.order_by("-at", "-id")
    if filters.user:
        qs = qs.filter(username=filters.user)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.queue:
        # Targets are "<queue>", "<queue>/<group>[/<consumer>]" or "<queue>/alert:<id>".
        qs = qs.filter(Q(target=filters.queue) | Q(target__startswith=f"{filters.queue}/"))
    return qs


def audit_choices() -> dict[str, list[str]]:
    """Values the audit page offers in its filters."""
    return {
        "users": sorted(
            u for u in AuditLog.objects.values_list("username", flat=True).distinct() if u
        ),
        "actions": sorted(set(AuditLog.objects.values_list("action", flat=True).distinct())),
        "queues": list(QueueDefinition.objects.values_list("name", flat=True)),
    }


def audit_as_json(entry: AuditLog) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "at": entry.at.isoformat(),
        "user": entry.username,
        "action": entry.action,
        "target": entry.target,
        "ok": entry.ok,
        "details": entry.details,
    }


def rows_as_json(rows: list[QueueRow]) -> list[dict[str, Any]]:
    return [asdict(row) for row in rows]
