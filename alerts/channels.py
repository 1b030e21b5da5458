"""Notification channels as operators check them: "send a test" through the channel's real
backend, and each channel's health read from its delivery log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from alerts import conf
from alerts.backends import get_backend
from alerts.exceptions import BackendConfigurationError
from alerts.models import Notification, NotificationChannel, NotificationDelivery, Severity

#: Notification.kind of a test (not an alert kind: no alert, no silence, no filter applies).
TEST_KIND = "test"


def channel_test(*, user: Any, channel: NotificationChannel) -> NotificationDelivery:
    """Send one test notification to ``channel`` now, through its backend (whatever its
    filters, enabled or not), log the attempt like any delivery and audit the action.
    Never raises for a delivery problem: the returned attempt says ok or why not. The
    caller checks the permission."""
    from dashboard.models import AuditLog

    username = user.get_username() if getattr(user, "is_authenticated", False) else ""
    now = timezone.now()
    notification = Notification.objects.create(
        kind=TEST_KIND,
        severity=Severity.INFO,
        title=f"[StreamWarden] test notification for channel {channel.name}",
        payload={
            "kind": TEST_KIND,
            "status": "test",
            "severity": Severity.INFO.value,
            "count": 0,
            "summary": f"A test sent by {username or 'an operator'} from StreamWarden: "
            "this channel works. No action needed.",
            "url": f"{conf.site_url()}/admin/alerts/notificationchannel/{channel.pk}/change/",
        },
        # never handed to the notifier: this one is sent here, to this channel only
        enqueued_at=now,
    )
    try:
        delivery = get_backend(channel).send(notification, attempt=1, last_attempt=True)
    except BackendConfigurationError as exc:
        delivery = NotificationDelivery.objects.create(
            notification=notification,
            channel=channel,
            attempt=1,
            ok=False,
            error=str(exc),
            final=True,
        )
    AuditLog.objects.create(
        user=user if username else None,
        username=username,
        action="channel.test",
        target=f"channel:{channel.name}",
        ok=delivery.ok,
        details={
            "status_code": delivery.status_code,
            "error": delivery.error[:500],
            "duration_ms": delivery.duration_ms,
        },
    )
    return delivery


def describe_delivery(delivery: NotificationDelivery) -> str:
    """'HTTP 204 in 12 ms' / 'failed: HTTP 500 …' for a result line."""
    code = f"HTTP {delivery.status_code}" if delivery.status_code else ""
    if delivery.ok:
        return f"delivered ({', '.join(filter(None, [code, f'{delivery.duration_ms} ms']))})"
    return f"failed: {delivery.error or code or 'unknown error'}"


@dataclass(frozen=True)
class ChannelHealth:
    """A channel's recent delivery record: the last attempt, the failures since the last
    success and the last error."""

    last_at: datetime | None
    last_ok: bool | None
    consecutive_failures: int
    last_error: str
    last_ok_at: datetime | None

    @property
    def state(self) -> str:
        if self.last_at is None:
            return "unknown"
        return "ok" if self.last_ok else "failing"


def channel_health(*, channel: NotificationChannel) -> ChannelHealth:
    """Three indexed reads of the channel's delivery log (newest first)."""
    log = NotificationDelivery.objects.filter(channel=channel).order_by("-created_at", "-id")
    last = log.values("created_at", "ok", "error", "status_code").first()
    if last is None:
        return ChannelHealth(None, None, 0, "", None)
    last_ok_at = log.filter(ok=True).values_list("created_at", flat=True).first()
    failures = log.filter(ok=False)
    if last_ok_at is not None:
        failures = failures.filter(created_at__gt=last_ok_at)
    last_failure = failures.values("error", "status_code").first()
    error = ""
    if last_failure is not None:
        code = last_failure["status_code"]
        error = last_failure["error"] or (f"HTTP {code}" if code else "")
    return ChannelHealth(
        last_at=last["created_at"],
        last_ok=last["ok"],
        consecutive_failures=failures.count() if not last["ok"] else 0,
        last_error=error if not last["ok"] else "",
        last_ok_at=last_ok_at,
    )
