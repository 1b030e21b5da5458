"""Threshold status of a snapshot: per group and per queue, ok/warn/alert with the checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dashboard.catalog.models import METRICS, EffectiveThresholds
from dashboard.monitor.types import GroupSnapshot, QueueSnapshot
from queues.health import worst

__all__ = ["group_checks", "group_reason", "queue_checks", "queue_reason", "worst"]


def group_checks(group: GroupSnapshot, thresholds: EffectiveThresholds) -> dict[str, str]:
    oldest_s = None if group.oldest_pending_ms is None else group.oldest_pending_ms / 1000
    return {
        "active_consumers": thresholds.status_of("active_consumers", group.active_consumers),
        "lag": thresholds.status_of("lag", group.lag),
        "pending": thresholds.status_of("pending", group.pending),
        "oldest_pending": thresholds.status_of("oldest_pending", oldest_s),
    }


_RANK = {"ok": 0, "warn": 1, "alert": 2}  # queues.health.worst's order


def queue_checks(
    snapshot: QueueSnapshot,
    thresholds: EffectiveThresholds,
    per_group: Sequence[Mapping[str, str]] | None = None,
) -> dict[str, str]:
    """Queue-level checks: the worst group per metric, plus dead letters. ``per_group``:
    each group's ``group_checks``, when the caller has them already."""
    checks = {"dead_letters": thresholds.status_of("dead_letters", snapshot.dead_letters)}
    for i, group in enumerate(snapshot.groups):
        found = per_group[i] if per_group is not None else group_checks(group, thresholds)
        for metric, status in found.items():
            if _RANK.get(status, 0) > _RANK.get(checks.get(metric, "ok"), 0):
                checks[metric] = status
            else:
                checks.setdefault(metric, "ok")
    return checks


#: How each check reads in a reason ("dead letters 226 ≥ 100").
_LABELS = {
    "active_consumers": ("active consumers", ""),
    "lag": ("lag", ""),
    "pending": ("pending", ""),
    "oldest_pending": ("oldest pending", " s"),
    "dead_letters": ("dead letters", ""),
}


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _reason(metric: str, value: float, status: str, thresholds: EffectiveThresholds) -> str:
    level = thresholds.levels[metric]
    limit = level.alert if status == "alert" else level.warn
    label, unit = _LABELS.get(metric, (metric, ""))
    higher = next((m.higher_is_worse for m in METRICS if m.key == metric), True)
    sign = "≥" if higher else "≤"
    return f"{label} {_number(value)}{unit} {sign} {_number(limit or 0)}{unit}"


def _group_values(group: GroupSnapshot) -> dict[str, float | None]:
    return {
        "active_consumers": group.active_consumers,
        "lag": group.lag,
        "pending": group.pending,
        "oldest_pending": None
        if group.oldest_pending_ms is None
        else round(group.oldest_pending_ms / 1000, 1),
    }


def group_reason(
    group: GroupSnapshot, thresholds: EffectiveThresholds, checks: Mapping[str, str] | None = None
) -> str:
    """Why a group has its status: each check at that status with its value and threshold
    ("lag 500 ≥ 100"); empty when ok. ``checks``: its ``group_checks``, if known."""
    found = [
        (metric, value, checks[metric] if checks else thresholds.status_of(metric, value))
        for metric, value in _group_values(group).items()
    ]
    status = worst([s for _, _, s in found])
    if status == "ok":
        return ""
    return "; ".join(
        _reason(m, v, s, thresholds) for m, v, s in found if s == status and v is not None
    )


def queue_reason(
    snapshot: QueueSnapshot,
    thresholds: EffectiveThresholds,
    per_group: Sequence[Mapping[str, str]] | None = None,
) -> str:
    """Why a queue has its status: dead letters and each group's checks at that status,
    the group named ("dead letters 226 ≥ 100; lag 500 ≥ 100 (billing)"); empty when ok.
    ``per_group``: each group's ``group_checks``, if known."""
    parts: list[tuple[str, str]] = []
    dead = snapshot.dead_letters
    dead_status = thresholds.status_of("dead_letters", dead)
    if dead is not None and dead_status != "ok":
        parts.append((dead_status, _reason("dead_letters", dead, dead_status, thresholds)))
    for i, group in enumerate(snapshot.groups):
        checks = per_group[i] if per_group is not None else None
        for metric, value in _group_values(group).items():
            status = checks[metric] if checks else thresholds.status_of(metric, value)
            if status != "ok" and value is not None:
                text = _reason(metric, value, status, thresholds)
                parts.append((status, f"{text} ({group.name})"))
    status = worst([s for s, _ in parts])
    chosen = [text for s, text in parts if s == status]
    if len(chosen) > 3:  # a row, not a report: the first few and how many more
        chosen = [*chosen[:3], f"{len(chosen) - 3} more"]
    return "; ".join(chosen)
