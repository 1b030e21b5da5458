"""Threshold status of a snapshot: per group and per queue, ok/warn/alert with the checks."""

from __future__ import annotations

from dashboard.catalog.models import EffectiveThresholds
from dashboard.monitor.types import GroupSnapshot, QueueSnapshot
from queues.health import worst

__all__ = ["group_checks", "queue_checks", "worst"]


def group_checks(group: GroupSnapshot, thresholds: EffectiveThresholds) -> dict[str, str]:
    oldest_s = None if group.oldest_pending_ms is None else group.oldest_pending_ms / 1000
    return {
        "active_consumers": thresholds.status_of("active_consumers", group.active_consumers),
        "lag": thresholds.status_of("lag", group.lag),
        "pending": thresholds.status_of("pending", group.pending),
        "oldest_pending": thresholds.status_of("oldest_pending", oldest_s),
    }


def queue_checks(snapshot: QueueSnapshot, thresholds: EffectiveThresholds) -> dict[str, str]:
    """Queue-level checks: the worst group per metric, plus dead letters."""
    checks = {"dead_letters": thresholds.status_of("dead_letters", snapshot.dead_letters)}
    for group in snapshot.groups:
        for metric, status in group_checks(group, thresholds).items():
            checks[metric] = worst([checks.get(metric, "ok"), status])
    return checks
