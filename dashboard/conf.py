"""StreamWarden settings, read through functions so override_settings works in tests."""

from __future__ import annotations

from django.conf import settings


def redis_url() -> str:
    """The Redis the dashboard watches by default (env REDIS_URL)."""
    return str(settings.REDIS_URL)


def poll_interval() -> float:
    """Seconds between two monitor polls (env STREAMWARDEN_POLL_INTERVAL)."""
    return float(settings.STREAMWARDEN_POLL_INTERVAL)


def serve_static() -> bool:
    return bool(getattr(settings, "STREAMWARDEN_SERVE_STATIC", False))
