"""Webhook backend: POSTs the notification as JSON, signed with the channel's secret.

Headers: ``X-StreamWarden-Timestamp: <unix seconds>``, ``X-StreamWarden-Notification: <id>``
and ``X-StreamWarden-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">``. The
body carries the notification id too (``notification_id``), so it is under the signature.
A receiver recomputes the HMAC over the timestamp header, a dot and the exact bytes it
received, refuses stale timestamps (``verify`` does both) and drops ids it has already seen:
a captured request then cannot be replayed.

Where a request may go (https, no internal addresses, no redirects, one deadline) is decided
in ``alerts.backends.outbound``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from alerts import conf
from alerts.backends import outbound
from alerts.backends.base import BaseBackend
from alerts.models import Notification, NotificationChannel

SIGNATURE_HEADER = "X-StreamWarden-Signature"
TIMESTAMP_HEADER = "X-StreamWarden-Timestamp"
NOTIFICATION_HEADER = "X-StreamWarden-Notification"
#: Seconds a signed request is accepted by ``verify`` either side of the receiver's clock.
DEFAULT_TOLERANCE = 300.0


def sign(body: bytes, secret: str, timestamp: int | str) -> str:
    """Value of the signature header for ``body`` sent at ``timestamp`` (unix seconds)."""
    message = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    body: bytes,
    secret: str,
    signature: str | None,
    timestamp: str | None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Receiver side: whether ``signature`` signs ``timestamp.body`` and the timestamp is fresh.

    ``signature`` and ``timestamp`` are the header values as received; the comparison is
    constant-time; a timestamp more than ``tolerance`` seconds from ``now`` is refused.
    """
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(body, secret, timestamp), signature or "")


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    body: bytes
    headers: dict[str, str]


class WebhookBackend(BaseBackend):
    """JSON over HTTPS POST; any 2xx is success, anything else (redirects too) a failed attempt."""

    @classmethod
    def validate_channel(cls, channel: NotificationChannel) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        if not channel.url:
            errors["url"] = ["A webhook channel needs a target URL (https://)."]
        else:
            try:
                URLValidator(schemes=["http", "https"])(channel.url)
            except ValidationError:
                errors["url"] = [
                    f"{channel.url!r} is not a valid http(s) URL; "
                    "enter e.g. https://hooks.example.com/streamwarden."
                ]
            else:
                problem = outbound.check_url(channel.url, conf.webhook_policy())
                if problem:
                    errors["url"] = [f"Refused: {problem}"]
        if not channel.secret:
            errors["secret"] = ["A webhook channel needs a secret to sign its requests."]
        return errors

    def build_message(self, notification: Notification) -> WebhookRequest:
        payload = {**notification.payload, "notification_id": notification.pk}
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "StreamWarden-Notifier/1",
            NOTIFICATION_HEADER: str(notification.pk),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(body, self.channel.secret, timestamp),
        }
        return WebhookRequest(url=self.channel.url, body=body, headers=headers)

    def post(self, message: WebhookRequest) -> int | None:
        target = outbound.resolve(message.url, conf.webhook_policy())
        return outbound.post(target, message.body, message.headers, timeout=conf.webhook_timeout())
