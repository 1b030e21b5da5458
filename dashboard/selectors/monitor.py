"""What the active monitor last reported, and whether its stored view can stand in for a
live poll."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypedDict, cast

from dashboard import conf
from dashboard.models import MonitorLease, MonitorState


class LeaseView(TypedDict):
    holder: str
    since: str
    expires_at: str
    expired: bool


class MonitorStatus(TypedDict, total=False):
    """``MonitorState.as_json()`` (when the monitor ever reported) plus the keys below,
    which are always there."""

    running: bool
    redis_ok: bool | None
    stale: bool
    down: bool  # what the notifier's dead man's switch alerts on (alerts.deadman)
    lease: LeaseView | None
    stale_after: int
    holder: str
    last_cycle_at: str | None
    redis_error: str
    redis_down_since: str | None
    poll_commands: int
    poll_ms: float
    queues: int
    cycles: int
    cycle_ms: float
    phases: dict[str, float]


def monitor_state() -> MonitorStatus:
    """What the active monitor last reported; ``stale`` when it has not reported lately."""
    state = MonitorState.objects.filter(key="monitor").first()
    lease = MonitorLease.objects.filter(key="monitor").first()
    held: LeaseView | None = (
        None
        if lease is None
        else {
            "holder": lease.holder,
            "since": lease.acquired_at.isoformat(),
            "expires_at": lease.expires_at.isoformat(),
            "expired": lease.expires_at <= datetime.now(UTC),
        }
    )
    # Seconds without a monitor report after which data counts as stale (pages warn too).
    stale_after = max(10.0, 5 * conf.poll_interval())
    if state is None:
        return {
            "running": False,
            "redis_ok": None,
            "stale": True,
            "down": False,
            "lease": held,
            "stale_after": int(stale_after),
        }
    data: dict[str, Any] = state.as_json()
    age = (datetime.now(UTC) - state.last_cycle_at).total_seconds() if state.last_cycle_at else None
    data["stale"] = age is None or age > stale_after
    data["stale_after"] = int(stale_after)
    data["running"] = not data["stale"]
    data["down"] = age is None or age > conf.monitor_down_after()
    data["lease"] = held
    return cast(MonitorStatus, data)


def monitor_fresh() -> bool:
    """Whether the monitor's stored view can stand in for a live poll: it reported within
    the staleness limit and could reach Redis."""
    state = monitor_state()
    return bool(state.get("running")) and state.get("redis_ok") is True
