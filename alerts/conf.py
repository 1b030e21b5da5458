"""Alerts settings, read through functions (never at import time) so override_settings works.

Every setting is optional; the defaults are what an operator would pick first.
"""

from __future__ import annotations

from django.conf import settings

from alerts.backends.outbound import Policy, parse_networks


def group_window() -> float:
    """Seconds claims / dead letters of one queue are collected into one notification.

    Setting: ``STREAMWARDEN_ALERTS_GROUP_WINDOW`` (default 60).
    """
    return float(getattr(settings, "STREAMWARDEN_ALERTS_GROUP_WINDOW", 60.0))


def repeat_interval() -> float:
    """Seconds before a still-open threshold / trend alert is notified again.

    Setting: ``STREAMWARDEN_ALERTS_REPEAT_INTERVAL`` (default 4 hours).
    """
    return float(getattr(settings, "STREAMWARDEN_ALERTS_REPEAT_INTERVAL", 4 * 3600.0))


def max_detail_chars() -> int:
    """Longest text kept per field of an event alert's details, e.g. a dead letter's error
    or traceback (STREAMWARDEN_MAX_DETAIL_CHARS, default 4000); stored and sent cut."""
    return max(100, int(getattr(settings, "STREAMWARDEN_MAX_DETAIL_CHARS", 4000)))


def sample_size() -> int:
    """How many message ids a grouped notification lists as a sample.

    Setting: ``STREAMWARDEN_ALERTS_SAMPLE_SIZE`` (default 10).
    """
    return int(getattr(settings, "STREAMWARDEN_ALERTS_SAMPLE_SIZE", 10))


def status_group_over() -> int:
    """More threshold / trend / claim-storm changes than this waiting in one dispatcher tick
    are sent grouped: one notification per kind, severity and direction (firing or
    resolved) naming the queues, not one per alert. An incident that puts 10 000 queues in
    alert is one page, not 30 000.

    Setting: ``STREAMWARDEN_ALERTS_STATUS_GROUP_OVER`` (default 20).
    """
    return max(1, int(getattr(settings, "STREAMWARDEN_ALERTS_STATUS_GROUP_OVER", 20)))


def notifications_queue() -> str:
    """StreamWarden queue the notifier consumes (``STREAMWARDEN_NOTIFICATIONS_QUEUE``)."""
    return str(getattr(settings, "STREAMWARDEN_NOTIFICATIONS_QUEUE", "streamwarden.notifications"))


def notifications_redis_url() -> str:
    """Redis carrying the notifications queue (``STREAMWARDEN_NOTIFICATIONS_REDIS_URL``).

    Defaults to ``REDIS_URL``: the dashboard's own Redis. Any URL the library accepts:
    ``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://host:port[,...]/service[/db]``
    or ``redis+cluster://host:port[,...]``; the notifier connects only through the library's
    Producer and Consumer (``alerts.outbox``, ``alerts.notifier``).
    """
    url = getattr(settings, "STREAMWARDEN_NOTIFICATIONS_REDIS_URL", "") or settings.REDIS_URL
    return str(url)


def max_delivery_attempts() -> int:
    """Attempts per notification and channel before it is given up (logged as failed).

    Setting: ``STREAMWARDEN_NOTIFY_MAX_ATTEMPTS`` (default 8).
    """
    return int(getattr(settings, "STREAMWARDEN_NOTIFY_MAX_ATTEMPTS", 8))


def retry_backoff() -> tuple[float, float]:
    """(first delay, cap) in seconds of the exponential backoff between delivery attempts.

    Setting: ``STREAMWARDEN_NOTIFY_BACKOFF`` (default ``(1.0, 60.0)``; from the environment
    as ``"1,60"``).
    """
    value = getattr(settings, "STREAMWARDEN_NOTIFY_BACKOFF", (1.0, 60.0))
    first, cap = value.split(",") if isinstance(value, str) else value
    return float(first), float(cap)


#: Backends a channel may name when the setting is absent. The in-memory backend is for tests
#: and is not on it (test settings add it).
DEFAULT_NOTIFICATION_BACKENDS = (
    "alerts.backends.webhook.WebhookBackend",
    "alerts.backends.email.EmailBackend",
)


def notification_backends() -> tuple[str, ...]:
    """Dotted paths a channel's backend may be (``STREAMWARDEN_NOTIFICATION_BACKENDS``).

    Nothing else is ever imported. From the environment as a comma-separated list.
    """
    value = getattr(settings, "STREAMWARDEN_NOTIFICATION_BACKENDS", DEFAULT_NOTIFICATION_BACKENDS)
    if isinstance(value, str):
        value = value.split(",")
    return tuple(item.strip() for item in value if item.strip())


def webhook_timeout() -> float:
    """Seconds a webhook POST may take (``STREAMWARDEN_WEBHOOK_TIMEOUT``, default 5)."""
    return float(getattr(settings, "STREAMWARDEN_WEBHOOK_TIMEOUT", 5.0))


def webhook_policy() -> Policy:
    """Where webhooks may go: ``STREAMWARDEN_WEBHOOK_ALLOW_HTTP`` (default off: https only)
    and ``STREAMWARDEN_WEBHOOK_ALLOWED_NETWORKS`` (default none: only public addresses).

    The networks are CIDRs (``"10.20.0.0/16,127.0.0.1/32"`` from the environment) whose
    addresses are reached even though they are internal (loopback, private, link-local).
    """
    allow_http = getattr(settings, "STREAMWARDEN_WEBHOOK_ALLOW_HTTP", False)
    if isinstance(allow_http, str):
        allow_http = allow_http.strip().lower() in {"1", "true", "yes", "on"}
    networks = getattr(settings, "STREAMWARDEN_WEBHOOK_ALLOWED_NETWORKS", ())
    return Policy(allow_http=bool(allow_http), allowed_networks=parse_networks(networks))


def default_redis_url() -> str:
    return str(settings.REDIS_URL)


def site_url() -> str:
    """Base URL put into notifications as a link (``STREAMWARDEN_SITE_URL``, default empty)."""
    return str(getattr(settings, "STREAMWARDEN_SITE_URL", "")).rstrip("/")


def retention_days() -> float:
    """Days alerts, notifications and delivery logs are kept (``STREAMWARDEN_ALERTS_RETENTION_DAYS``).

    Default 30. Open status alerts and alerts still waiting for notification are never pruned.
    """
    return float(getattr(settings, "STREAMWARDEN_ALERTS_RETENTION_DAYS", 30.0))
