"""Liveness of the parts the dashboard depends on, for /health and the page banner."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from django.db import connection

from dashboard import conf

_PROBE_TIMEOUT = 1.0


@dataclass(frozen=True)
class Probe:
    ok: bool
    error: str = ""


def probe_redis(url: str | None = None) -> Probe:
    """PING the Redis at ``url`` with a short timeout; never raises."""
    client = redis.Redis.from_url(
        url or conf.redis_url(),
        socket_connect_timeout=_PROBE_TIMEOUT,
        socket_timeout=_PROBE_TIMEOUT,
    )
    try:
        client.ping()
        return Probe(ok=True)
    except redis.RedisError as exc:
        # The exception text may carry host:port but never the password of the URL.
        return Probe(ok=False, error=type(exc).__name__)
    finally:
        client.close()


def probe_database() -> Probe:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Probe(ok=True)
    except Exception as exc:  # noqa: BLE001 - any DB failure means "down" here
        return Probe(ok=False, error=type(exc).__name__)
