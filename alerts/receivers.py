"""The alerts app listens to the monitor (``dashboard.monitor.signals``); the monitor never
imports this app. Services are looked up at call time, so a test patching
``alerts.services`` or ``alerts.ingest`` is heard."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dashboard.monitor import signals
from dashboard.monitor.signals import StatusReport


def on_statuses_changed(*, reports: list[StatusReport], **_: Any) -> None:
    from alerts import services

    services.record_status_changes(
        changes=[
            services.StatusChange(r.kind, r.queue, r.group, r.status, r.details, r.redis_url)
            for r in reports
        ]
    )


def on_claim_storm_changed(
    *, queue: str, group: str, status: str, details: dict[str, Any], **_: Any
) -> None:
    from alerts import services

    services.sync_status_alert(
        kind="claim_storm", queue=queue, group=group, status=status, details=details
    )


def on_redis_reachability(*, redis_url: str, reachable: bool, error: str = "", **_: Any) -> None:
    from alerts import services

    services.set_redis_reachable(redis_url=redis_url, reachable=reachable, error=error)


def on_events_due(
    *,
    redis_url: str,
    queues: list[str],
    consumer_name: str,
    moved: list[str] | None = None,
    **_: Any,
) -> frozenset[str]:
    """Ingest the events of the queues that moved (and of those due for a takeover look);
    answers the queues read to the end."""
    from alerts import ingest

    return ingest.ingest_moved(
        redis_url=redis_url, queues=queues, consumer_name=consumer_name, moved=moved
    ).drained


def on_claims_inferred(*, claims: list[dict[str, Any]], **_: Any) -> int:
    from alerts import services

    return services.record_inferred_claims(claims=claims)


def on_cycle_recorded(**_: Any) -> None:
    """A completed cycle ends a monitor_down alert (the notifier would, a tick later)."""
    from alerts import services
    from alerts.models import Alert, AlertKind

    down = Alert.objects.filter(
        kind=AlertKind.MONITOR_DOWN, state__in=["open", "acknowledged"]
    ).exists()
    if down:
        services.set_monitor_alive(alive=True)


def on_claims_wanted(
    *, cursor: int | None, since: datetime, limit: int, **_: Any
) -> tuple[list[tuple[str, str, str, Any, datetime]], int | None]:
    """The ``claimed`` rows (one per library ``claimed`` event) after ``cursor``, or since
    ``since`` on the first call; and the cursor to ask from next time."""
    from alerts.models import Alert, AlertKind

    rows = Alert.objects.filter(kind=AlertKind.CLAIMED)
    rows = rows.filter(created_at__gte=since) if cursor is None else rows.filter(pk__gt=cursor)
    batch = list(
        rows.order_by("pk").values_list(
            "pk", "queue", "group", "message_id", "details", "created_at"
        )[:limit]
    )
    if batch:
        cursor = batch[-1][0]
    elif cursor is None:
        cursor = Alert.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return [row[1:] for row in batch], cursor


def connect() -> None:
    """Called once by ``AlertsConfig.ready``; ``dispatch_uid`` keeps it idempotent."""
    for signal, receiver in (
        (signals.statuses_changed, on_statuses_changed),
        (signals.claim_storm_changed, on_claim_storm_changed),
        (signals.redis_reachability, on_redis_reachability),
        (signals.events_due, on_events_due),
        (signals.claims_inferred, on_claims_inferred),
        (signals.cycle_recorded, on_cycle_recorded),
        (signals.claims_wanted, on_claims_wanted),
    ):
        signal.connect(receiver, dispatch_uid=f"alerts.{receiver.__name__}")
