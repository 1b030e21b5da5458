"""StreamWarden settings, read through functions so override_settings works in tests."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from django.conf import settings

from dashboard.monitor import trend


def redis_url() -> str:
    """The Redis the dashboard watches by default (env REDIS_URL)."""
    return str(settings.REDIS_URL)


def poll_interval() -> float:
    """Seconds between two monitor polls (env STREAMWARDEN_POLL_INTERVAL)."""
    return _number("STREAMWARDEN_POLL_INTERVAL", 2.0)


def serve_static() -> bool:
    return bool(getattr(settings, "STREAMWARDEN_SERVE_STATIC", False))


def _number(name: str, default: float) -> float:
    # Settings first (override_settings in tests), then the environment (so a monitor
    # subprocess can be tuned without a settings module), then the default.
    value: Any = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return float(value)


def websocket_recheck() -> float:
    """Seconds between two checks, by a live websocket, that its session still stands.

    Setting ``STREAMWARDEN_WS_RECHECK`` (default 60). Logout and deactivation close sockets at
    once; this catches sessions that end without a signal (expired, deleted from the store).
    """
    return _number("STREAMWARDEN_WS_RECHECK", 60.0)


def snapshot_interval() -> float:
    """Seconds between two stored raw snapshots of a queue (STREAMWARDEN_SNAPSHOT_INTERVAL)."""
    return _number("STREAMWARDEN_SNAPSHOT_INTERVAL", 10.0)


def state_figures_every() -> float:
    """How long a queue's stored figures (overview, /api/queues/, /metrics) may trail its
    live ones when nothing but figures changed (STREAMWARDEN_STATE_FIGURES_EVERY, default 10 s;
    0: every poll), counted in polls: once every this / the poll interval cycles, longer
    when cycles outlast the interval. Status, trend, reasons, consumers and dead letters are
    stored at once."""
    return max(0.0, _number("STREAMWARDEN_STATE_FIGURES_EVERY", 10.0))


def history_keepalive() -> float:
    """Seconds after which a queue that did not change gets a raw snapshot all the same
    (STREAMWARDEN_HISTORY_KEEPALIVE, default 30: every minute of a chart has a point)."""
    return _number("STREAMWARDEN_HISTORY_KEEPALIVE", 30.0)


def raw_retention() -> timedelta:
    """How long raw snapshots are kept (STREAMWARDEN_RAW_RETENTION, seconds, default 1 h)."""
    return timedelta(seconds=_number("STREAMWARDEN_RAW_RETENTION", 3600))


def rollup_retention() -> timedelta:
    """How long 1-minute rollups are kept (STREAMWARDEN_ROLLUP_RETENTION, s, default 7 d)."""
    return timedelta(seconds=_number("STREAMWARDEN_ROLLUP_RETENTION", 7 * 24 * 3600))


def retention_interval() -> float:
    """Seconds between two retention/rollup runs (STREAMWARDEN_RETENTION_INTERVAL)."""
    return _number("STREAMWARDEN_RETENTION_INTERVAL", 60.0)


def monitor_down_after() -> float:
    """Seconds without a completed monitor cycle after which ``monitor_down`` opens
    (STREAMWARDEN_MONITOR_DOWN_AFTER, default max(30 s, 5 poll intervals))."""
    return _number("STREAMWARDEN_MONITOR_DOWN_AFTER", max(30.0, 5 * poll_interval()))


def caps() -> Any:
    """Groups per queue and consumers per group a snapshot keeps (STREAMWARDEN_MAX_GROUPS,
    default 50; STREAMWARDEN_MAX_CONSUMERS, default 100): the rest are counted, not listed."""
    from dashboard.monitor.poller import Caps

    return Caps(
        groups=max(1, int(_number("STREAMWARDEN_MAX_GROUPS", 50))),
        consumers=max(0, int(_number("STREAMWARDEN_MAX_CONSUMERS", 100))),
    )


def poll_refresh() -> int:
    """Polls between two full reads of a queue that did not change (STREAMWARDEN_POLL_REFRESH,
    default 30); each poll reads a staggered 1/N of the still queues in full."""
    return max(1, int(_number("STREAMWARDEN_POLL_REFRESH", 30)))


def lease_ttl() -> float:
    """Seconds the monitor lease lives without renewal (STREAMWARDEN_LEASE_TTL, default
    max(5 s, 3 poll intervals))."""
    return _number("STREAMWARDEN_LEASE_TTL", max(5.0, 3 * poll_interval()))


def active_idle() -> float:
    """A consumer idle longer than this many seconds counts as inactive
    (STREAMWARDEN_ACTIVE_IDLE, default 30 s)."""
    return _number("STREAMWARDEN_ACTIVE_IDLE", 30.0)


def trend_policy() -> trend.Policy:
    """How lag growth is judged: window (STREAMWARDEN_TREND_WINDOW, 60 s), how long growth
    must hold to warn and be gone to resolve (STREAMWARDEN_TREND_FOR, 20 s), and the noise
    floor in messages the lag must climb across the window (STREAMWARDEN_TREND_MIN_GROWTH, 50)."""
    return trend.Policy(
        window_s=max(1.0, _number("STREAMWARDEN_TREND_WINDOW", 60.0)),
        hold_s=max(0.0, _number("STREAMWARDEN_TREND_FOR", 20.0)),
        min_growth=max(1.0, _number("STREAMWARDEN_TREND_MIN_GROWTH", 50.0)),
    )


def pending_sample() -> int:
    """Pending entries listed per group on the queue page (STREAMWARDEN_PENDING_SAMPLE)."""
    return int(_number("STREAMWARDEN_PENDING_SAMPLE", 50))


def pel_sample() -> int:
    """Oldest pending entries per group of a plain stream the monitor compares between
    polls to infer claims by foreign consumers (STREAMWARDEN_PEL_SAMPLE, default 1000)."""
    return max(1, int(_number("STREAMWARDEN_PEL_SAMPLE", 1000)))


def storm_window() -> float:
    """Seconds of claims the claim-storm detector looks at (STREAMWARDEN_STORM_WINDOW, 60 s)."""
    return _number("STREAMWARDEN_STORM_WINDOW", 60.0)


def storm_claims() -> int:
    """Claims of one group within the storm window that make a storm
    (STREAMWARDEN_STORM_CLAIMS, default 20); it ends below half of that."""
    return max(1, int(_number("STREAMWARDEN_STORM_CLAIMS", 20)))


def poison_deliveries() -> int:
    """A pending entry delivered this often is a poison suspect
    (STREAMWARDEN_POISON_DELIVERIES, default 5)."""
    return max(2, int(_number("STREAMWARDEN_POISON_DELIVERIES", 5)))
