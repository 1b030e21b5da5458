"""System checks: bad alerting configuration is reported with stable ids."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db import DatabaseError

from alerts import conf


@checks.register()
def check_channel_backends(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """alerts.E001: an enabled channel names a backend that cannot be imported."""
    from alerts.backends import get_backend_class
    from alerts.exceptions import BackendConfigurationError
    from alerts.models import NotificationChannel

    errors: list[checks.CheckMessage] = []
    try:
        channels = list(NotificationChannel.objects.filter(enabled=True))
    except DatabaseError:  # not migrated yet: nothing configured to check
        return errors
    for channel in channels:
        try:
            get_backend_class(channel.backend)
        except BackendConfigurationError as exc:
            errors.append(
                checks.Error(
                    f"Notification channel {channel.name!r}: {exc}",
                    hint="Fix the backend path in the admin (Notification channels) "
                    "or disable the channel.",
                    obj=channel,
                    id="alerts.E001",
                )
            )
    return errors


@checks.register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """alerts.E002: alerting settings that are not positive numbers."""
    errors: list[checks.CheckMessage] = []
    for name, getter in (
        ("STREAMWARDEN_ALERTS_GROUP_WINDOW", conf.group_window),
        ("STREAMWARDEN_ALERTS_REPEAT_INTERVAL", conf.repeat_interval),
        ("STREAMWARDEN_NOTIFY_MAX_ATTEMPTS", conf.max_delivery_attempts),
    ):
        try:
            ok = getter() > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            errors.append(
                checks.Error(
                    f"{name} must be a positive number.",
                    hint=f"Set {name} in your settings or remove it to use the default.",
                    id="alerts.E002",
                )
            )
    return errors


@checks.register()
def check_notifications_redis_url(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """alerts.E003: the notifications Redis URL has a scheme the library does not know."""
    from queues.connection import CLUSTER_SCHEMES, EXPECTED_URLS, SENTINEL_SCHEME, SINGLE_SCHEMES

    url = conf.notifications_redis_url()
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in (*SINGLE_SCHEMES, SENTINEL_SCHEME, *CLUSTER_SCHEMES):
        return []
    return [
        checks.Error(
            f"STREAMWARDEN_NOTIFICATIONS_REDIS_URL (or REDIS_URL) has an unknown scheme "
            f"{scheme + '://' if scheme else '(none)'!r}.",
            hint=f"Expected {EXPECTED_URLS}.",
            id="alerts.E003",
        )
    ]


@checks.register()
def check_webhook_networks(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """alerts.E004: STREAMWARDEN_WEBHOOK_ALLOWED_NETWORKS holds something that is no network."""
    try:
        conf.webhook_policy()
    except ValueError as exc:
        return [
            checks.Error(
                f"STREAMWARDEN_WEBHOOK_ALLOWED_NETWORKS: {exc}.",
                hint="List CIDR networks, comma separated, e.g. 10.20.0.0/16,127.0.0.1/32.",
                id="alerts.E004",
            )
        ]
    return []


@checks.register(checks.Tags.security, deploy=True)
def check_site_url(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """alerts.W001 (deploy): without STREAMWARDEN_SITE_URL, links in notifications are
    relative ("/alerts/211/") and lead nowhere from an inbox or a chat."""
    url = conf.site_url()
    if url.startswith(("https://", "http://")):
        return []
    return [
        checks.Warning(
            "STREAMWARDEN_SITE_URL is not an absolute http(s) URL"
            + (f" ({url!r})" if url else " (unset)")
            + ": links in notifications are relative and cannot be followed.",
            hint="Set STREAMWARDEN_SITE_URL to the dashboard's public base URL, "
            "e.g. https://streamwarden.example.com.",
            id="alerts.W001",
        )
    ]
