"""Alert reads for pages, the API and live pushes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet

from alerts.models import Alert, AlertState

FILTERS = ("queue", "kind", "severity", "state", "group")
#: Rows per page of the alerts page: a claim storm makes thousands of rows.
PER_PAGE = 50
#: Groups shown in the grouped view (the most recently active first).
MAX_GROUPS = 100


def alert_queryset(
    *, queue: str = "", kind: str = "", severity: str = "", state: str = "", group: str = ""
) -> QuerySet[Alert]:
    """Alerts narrowed by any of the filters that are not empty (no order, no limit)."""
    qs = Alert.objects.all()
    if queue:
        qs = qs.filter(queue=queue)
    if kind:
        qs = qs.filter(kind=kind)
    if severity:
        qs = qs.filter(severity=severity)
    if state:
        qs = qs.filter(state=state)
    if group:
        qs = qs.filter(group=group)
    return qs


def alert_list(
    *,
    queue: str = "",
    kind: str = "",
    severity: str = "",
    state: str = "",
    group: str = "",
    limit: int = 200,
    offset: int = 0,
) -> QuerySet[Alert]:
    """Newest alerts first, narrowed by any of the filters that are not empty."""
    qs = alert_queryset(queue=queue, kind=kind, severity=severity, state=state, group=group)
    qs = qs.select_related("acknowledged_by", "resolved_by").order_by("-created_at", "-id")
    return qs[offset : offset + limit]


@dataclass(frozen=True)
class AlertPage:
    """One page of the alerts list: its rows and where it sits among all that match."""

    alerts: list[Alert]
    total: int
    number: int
    pages: int

    @property
    def first(self) -> int:
        return 0 if not self.alerts else (self.number - 1) * PER_PAGE + 1

    @property
    def last(self) -> int:
        return self.first + len(self.alerts) - 1 if self.alerts else 0


def alerts_paged(*, filters: dict[str, str], number: int = 1) -> AlertPage:
    """Page ``number`` (from 1, clamped) of the alerts matching ``filters``: one COUNT and
    one indexed LIMIT/OFFSET query, however many rows there are."""
    total = alert_queryset(**filters).count()
    pages = max(1, -(-total // PER_PAGE))
    number = min(max(1, number), pages)
    rows = list(alert_list(**filters, limit=PER_PAGE, offset=(number - 1) * PER_PAGE))
    return AlertPage(rows, total, number, pages)


def alert_counts(*, filters: dict[str, str]) -> dict[str, dict[str, int]]:
    """Counts by severity and by state of the alerts matching the other filters (the
    severity counts ignore the severity filter, the state counts the state filter)."""
    out: dict[str, dict[str, int]] = {}
    for field in ("severity", "state"):
        others = {**filters, field: ""}
        rows = alert_queryset(**others).order_by().values_list(field).annotate(n=Count("id"))
        out[field] = {value: n for value, n in rows}
    return out


@dataclass(frozen=True)
class AlertGroup:
    """Alerts of one (queue, kind, group) among those matching the filters."""

    queue: str
    kind: str
    group: str
    count: int
    open: int
    first_seen: datetime
    last_seen: datetime


def alert_groups(*, filters: dict[str, str], limit: int = MAX_GROUPS) -> list[AlertGroup]:
    """The matching alerts grouped by queue, kind and group, most recently active first."""
    rows = (
        alert_queryset(**filters)
        .order_by()
        .values_list("queue", "kind", "group")
        .annotate(
            n=Count("id"),
            n_open=Count("id", filter=Q(state=AlertState.OPEN)),
            first=Min("created_at"),
            last=Max("created_at"),
        )
        .order_by("-last")[:limit]
    )
    return [AlertGroup(*row) for row in rows]


def _user(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def alert_as_dict(alert: Alert) -> dict[str, Any]:
    """JSON form of an alert, shared by the API and the live ``alert.update`` pushes."""
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "severity": alert.severity,
        "state": alert.state,
        "queue": alert.queue,
        "group": alert.group,
        "message_id": alert.message_id,
        "event_id": alert.event_id,
        "redis_url": alert.redis_display,
        "status": alert.status,
        "summary": alert.summary,
        "details": alert.details,
        "created_at": _iso(alert.created_at),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "acknowledged_by": _user(alert.acknowledged_by),
        "resolved_at": _iso(alert.resolved_at),
        "resolved_by": _user(alert.resolved_by),
        "notify_state": alert.notify_state,
    }


def notification_status(*, alert: Alert) -> str:
    """What became of the alert's notification, truthfully: "Silenced", "No channel
    matched", "Sent to N channels", "Queued for N channels", failures named — never "Sent"
    for a notification no channel took."""
    from alerts.models import (
        STATUS_KINDS,
        Notification,
        NotificationChannel,
        NotificationDelivery,
        NotifyState,
    )

    if alert.notify_state != NotifyState.SENT or alert.last_notified_at is None:
        return str(alert.get_notify_state_display())
    # The notification written when this alert was last notified (same transaction).
    found = Notification.objects.filter(
        kind=alert.kind, queue=alert.queue, created_at__gte=alert.last_notified_at
    )
    if alert.kind in STATUS_KINDS:
        found = found.filter(payload__alert_id=alert.pk)
    notification = found.order_by("created_at", "id").first()
    if notification is None and alert.kind in STATUS_KINDS:
        # Sent with an incident's other status alerts: the grouped notification naming it.
        grouped = Notification.objects.filter(
            kind=alert.kind, queue="", created_at__gte=alert.last_notified_at
        ).order_by("created_at", "id")[:20]
        notification = next(
            (n for n in grouped if alert.queue in (n.payload.get("queues") or [])), None
        )
    if notification is None:
        return "Sent (the notification record was pruned)"
    channels = [
        c for c in NotificationChannel.objects.filter(enabled=True) if c.takes(notification)
    ]
    deliveries = list(
        NotificationDelivery.objects.filter(notification=notification).values(
            "channel_id", "ok", "final"
        )
    )
    delivered = {d["channel_id"] for d in deliveries if d["ok"]}
    failed = {d["channel_id"] for d in deliveries if d["final"] and not d["ok"]} - delivered
    if not channels and not deliveries:
        return "No channel matched"

    def plural(n: int) -> str:
        return f"{n} channel{'' if n == 1 else 's'}"

    parts = []
    if delivered:
        parts.append(f"Sent to {plural(len(delivered))}")
    if failed:
        parts.append(f"failed on {plural(len(failed))}")
    waiting = len({c.pk for c in channels} - delivered - failed)
    if waiting:
        parts.append(f"queued for {plural(waiting)}")
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]
