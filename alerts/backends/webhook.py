"""Webhook backend: POSTs the notification as JSON, signed with the channel's secret.

Header ``X-StreamWarden-Signature: sha256=<hex HMAC-SHA256 of the raw body>``; the receiver
recomputes it over the exact bytes it received. Uses urllib (no extra dependency).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from alerts import conf
from alerts.backends.base import BaseBackend
from alerts.exceptions import DeliveryError
from alerts.models import Notification, NotificationChannel

SIGNATURE_HEADER = "X-StreamWarden-Signature"


def sign(body: bytes, secret: str) -> str:
    """Value of the signature header for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(body: bytes, secret: str, header: str) -> bool:
    """Receiver side: whether ``header`` is the signature of ``body`` (constant-time)."""
    return hmac.compare_digest(sign(body, secret), header or "")


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    body: bytes
    headers: dict[str, str]


class WebhookBackend(BaseBackend):
    """JSON over HTTP POST; any 2xx is success, anything else a failed attempt."""

    @classmethod
    def validate_channel(cls, channel: NotificationChannel) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        if not channel.url:
            errors["url"] = ["A webhook channel needs a target URL (http:// or https://)."]
        else:
            try:
                URLValidator(schemes=["http", "https"])(channel.url)
            except ValidationError:
                errors["url"] = [
                    f"{channel.url!r} is not a valid http(s) URL; "
                    "enter e.g. https://hooks.example.com/streamwarden."
                ]
        if not channel.secret:
            errors["secret"] = ["A webhook channel needs a secret to sign its requests."]
        return errors

    def build_message(self, notification: Notification) -> WebhookRequest:
        body = json.dumps(notification.payload, sort_keys=True, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "StreamWarden-Notifier/1",
            "X-StreamWarden-Notification": str(notification.pk),
            SIGNATURE_HEADER: sign(body, self.channel.secret),
        }
        return WebhookRequest(url=self.channel.url, body=body, headers=headers)

    def post(self, message: WebhookRequest) -> int | None:
        request = urllib.request.Request(
            message.url, data=message.body, headers=message.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=conf.webhook_timeout()) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            raise DeliveryError(
                f"HTTP {exc.code} from {message.url}", status_code=exc.code
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"cannot reach {message.url}: {reason}") from exc
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP {status} from {message.url}", status_code=status)
        return status
