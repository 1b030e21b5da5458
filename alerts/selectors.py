"""Alert reads for pages, the API and live pushes."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from alerts.models import Alert

FILTERS = ("queue", "kind", "severity", "state")


def alert_list(
    *,
    queue: str = "",
    kind: str = "",
    severity: str = "",
    state: str = "",
    limit: int = 200,
) -> QuerySet[Alert]:
    """Newest alerts first, narrowed by any of the filters that are not empty."""
    qs = Alert.objects.select_related("acknowledged_by", "resolved_by")
    if queue:
        qs = qs.filter(queue=queue)
    if kind:
        qs = qs.filter(kind=kind)
    if severity:
        qs = qs.filter(severity=severity)
    if state:
        qs = qs.filter(state=state)
    return qs[:limit]


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
