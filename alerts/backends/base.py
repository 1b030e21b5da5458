"""The base class of notification backends: it owns the attempt, the error policy and the log.

Subclasses fill two small hooks (anymail-style): ``build_message`` (notification → what the
transport sends) and ``post`` (send it once, return an HTTP status or None, raise
``DeliveryError`` on failure). They may add ``validate_channel`` for the admin form.

Retries are not a loop in here: a failed attempt is logged and reported, and the notifier puts
the job back into the notifications queue with a delay (``retry_delay``), so the wait lives in
Redis and survives a notifier restart.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from alerts import conf
from alerts.exceptions import DeliveryError
from alerts.models import Notification, NotificationChannel, NotificationDelivery

logger = logging.getLogger(__name__)


class BaseBackend:
    """Delivers notifications to one channel. Thread-safety: one instance per thread."""

    def __init__(self, channel: NotificationChannel) -> None:
        self.channel = channel

    # -- hooks -------------------------------------------------------------------------------
    @classmethod
    def validate_channel(cls, channel: NotificationChannel) -> dict[str, list[str]]:
        """Form errors per field of a channel using this backend (none by default)."""
        return {}

    def build_message(self, notification: Notification) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement build_message()")

    def post(self, message: Any) -> int | None:
        raise NotImplementedError(f"{type(self).__name__} must implement post()")

    # -- the policy ----------------------------------------------------------------------------
    def send(
        self, notification: Notification, *, attempt: int = 1, last_attempt: bool = False
    ) -> NotificationDelivery:
        """Make one attempt and log it; never raises for a delivery problem."""
        started = time.monotonic()
        status_code: int | None = None
        error = ""
        try:
            status_code = self.post(self.build_message(notification))
            ok = True
        except DeliveryError as exc:
            ok, status_code, error = False, exc.status_code, str(exc)
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken channel must not stop the notifier
            logger.exception("backend %s failed for channel %s", self.channel.backend, self.channel)
            ok, error = False, f"{type(exc).__name__}: {exc}"
        delivery = NotificationDelivery.objects.create(
            notification=notification,
            channel=self.channel,
            attempt=attempt,
            ok=ok,
            status_code=status_code,
            error=error[:2000],
            duration_ms=int((time.monotonic() - started) * 1000),
            final=not ok and last_attempt,
        )
        if not ok:
            logger.warning(
                "notification %s to %s failed (attempt %s): %s",
                notification.pk,
                self.channel,
                attempt,
                error,
            )
        return delivery

    @staticmethod
    def retry_delay(attempt: int) -> float:
        """Seconds to wait after failed ``attempt`` (1-based): exponential, capped."""
        first, cap = conf.retry_backoff()
        return float(min(cap, first * 2 ** (attempt - 1)))


def render_text(notification: Notification) -> str:
    """Plain-text body shared by text-based backends (email, chat)."""
    p = notification.payload
    lines = [
        notification.title,
        "",
        f"Queue:    {p.get('queue') or '-'}",
        f"Kind:     {p.get('kind')}",
        f"Severity: {p.get('severity')}",
        f"Count:    {p.get('count')}",
        f"Status:   {p.get('status')}",
    ]
    if p.get("grouped") and isinstance(p.get("queues"), list):
        shown = [str(q) for q in p["queues"][: conf.sample_size()]]
        more = len(p["queues"]) - len(shown)
        lines.append(f"Queues:   {', '.join(shown)}" + (f" and {more} more" if more > 0 else ""))
    if p.get("groups"):
        lines.append(f"Groups:   {', '.join(p['groups'])}")
    if p.get("sample_message_ids"):
        lines.append(f"Sample message ids: {', '.join(p['sample_message_ids'])}")
    if p.get("summary"):
        lines += ["", str(p["summary"])]
    if p.get("url"):
        lines += ["", str(p["url"])]
    return "\n".join(lines) + "\n"
