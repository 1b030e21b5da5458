"""Threshold status of a snapshot: per group and per queue, ok/warn/alert with the checks.

The monitor judges every group of 10 000 queues each cycle: :func:`judge_group` and
:func:`judge_queue` judge each value once, with the thresholds' judges made once per
thresholds object, and write a reason only for what is not ok.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

from dashboard.catalog.models import METRICS, EffectiveThresholds
from dashboard.monitor.types import GroupSnapshot, QueueSnapshot
from queues.health import worst

__all__ = [
    "GROUP_METRICS",
    "GroupJudgement",
    "group_checks",
    "group_reason",
    "judge_group",
    "judge_queue",
    "queue_checks",
    "queue_reason",
    "worst",
]

#: The checks of a group, in the order checks and reasons list them.
GROUP_METRICS = ("active_consumers", "lag", "pending", "oldest_pending")


#: A group judged: the status of each of ``GROUP_METRICS``, the worst of them, and the
#: reason's parts at that worst ("lag 500 ≥ 100"; none when ok). A plain tuple: the
#: monitor makes one per group, 30 000 a cycle.
GroupJudgement = tuple[tuple[str, str, str, str], str, list[str]]


def _worst(statuses: Sequence[str]) -> str:
    # ``worst`` of statuses this module made (only ok, warn and alert), without a sort key
    return "alert" if "alert" in statuses else "warn" if "warn" in statuses else "ok"


def _statuses(group: GroupSnapshot, thresholds: EffectiveThresholds) -> tuple[str, str, str, str]:
    judges = thresholds.judges
    active = group.active_consumers
    lag = group.lag
    pending = group.pending
    oldest_ms = group.oldest_pending_ms
    judge = judges.get("active_consumers")
    active_status = "ok" if active is None or judge is None else judge(active)
    judge = judges.get("lag")
    lag_status = "ok" if lag is None or judge is None else judge(lag)
    judge = judges.get("pending")
    pending_status = "ok" if pending is None or judge is None else judge(pending)
    judge = judges.get("oldest_pending")
    oldest_status = "ok" if oldest_ms is None or judge is None else judge(oldest_ms / 1000)
    return active_status, lag_status, pending_status, oldest_status


def group_checks(group: GroupSnapshot, thresholds: EffectiveThresholds) -> dict[str, str]:
    return dict(zip(GROUP_METRICS, _statuses(group, thresholds), strict=True))


def judge_group(group: GroupSnapshot, thresholds: EffectiveThresholds) -> GroupJudgement:
    """``group``'s checks, status and the parts of its reason (as ``group_checks`` and
    ``group_reason``: ``"; ".join(parts)``)."""
    statuses = _statuses(group, thresholds)
    status = _worst(statuses)
    if status == "ok":
        return statuses, status, []
    # Written out metric by metric: a loop over them cost a third more, 30 000 times a cycle.
    active_status, lag_status, pending_status, oldest_status = statuses
    levels = thresholds.levels  # its Level's attribute of the status is the limit
    parts = []
    if active_status == status and group.active_consumers is not None:
        limit = getattr(levels["active_consumers"], status)
        parts.append(_text("active_consumers", group.active_consumers, limit))
    if lag_status == status and group.lag is not None:
        parts.append(_text("lag", group.lag, getattr(levels["lag"], status)))
    if pending_status == status and group.pending is not None:
        parts.append(_text("pending", group.pending, getattr(levels["pending"], status)))
    if oldest_status == status and group.oldest_pending_ms is not None:
        age = round(group.oldest_pending_ms / 1000, 1)
        parts.append(_text("oldest_pending", age, getattr(levels["oldest_pending"], status)))
    return statuses, status, parts


def judge_queue(
    snapshot: QueueSnapshot,
    thresholds: EffectiveThresholds,
    judged: Sequence[GroupJudgement],
) -> tuple[dict[str, str], str, str]:
    """The queue's checks, status and reason (as ``queue_checks``, ``worst`` and
    ``queue_reason``) from ``judged``: each of its groups' ``judge_group``."""
    dead = snapshot.dead_letters
    judge = thresholds.judges.get("dead_letters")
    dead_status = "ok" if dead is None or judge is None else judge(dead)
    checks = {"dead_letters": dead_status}
    if judged:
        per_group = [j[0] for j in judged]
        if per_group.count(per_group[0]) == len(per_group):
            checks.update(zip(GROUP_METRICS, per_group[0], strict=True))  # often: alike
        else:
            for metric, found in zip(GROUP_METRICS, zip(*per_group)):  # noqa: B905
                checks[metric] = _worst(found)
    # the worst check is the worst group's status or the dead letters'
    status = _worst([dead_status, *[j[1] for j in judged]])
    if status == "ok":
        return checks, status, ""
    chosen = []
    if dead is not None and dead_status == status:
        chosen.append(_reason("dead_letters", dead, status, thresholds))
    # a group's checks at the queue's status are its reason's parts, or none
    chosen += [
        f"{text} ({group.name})"
        for group, (_, group_status, parts) in zip(snapshot.groups, judged, strict=True)
        if group_status == status
        for text in parts
    ]
    return checks, status, _cap(chosen)


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


_RANK = {"ok": 0, "warn": 1, "alert": 2}  # queues.health.worst's order

#: How each check reads in a reason ("dead letters 226 ≥ 100").
_LABELS = {
    "active_consumers": ("active consumers", ""),
    "lag": ("lag", ""),
    "pending": ("pending", ""),
    "oldest_pending": ("oldest pending", " s"),
    "dead_letters": ("dead letters", ""),
}

_HIGHER_IS_WORSE = {m.key: m.higher_is_worse for m in METRICS}


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


@functools.lru_cache(maxsize=1024)
def _tail(metric: str, limit: float | None) -> str:
    """What follows the value in a reason: `` ≥ 100`` (a few thresholds, made once each)."""
    unit = _LABELS[metric][1]
    sign = "≥" if _HIGHER_IS_WORSE[metric] else "≤"
    return f"{unit} {sign} {_number(limit or 0)}{unit}"


def _text(metric: str, value: float, limit: float | None) -> str:
    """A check in a reason: "lag 500 ≥ 100"."""
    return f"{_LABELS[metric][0]} {_number(value)}{_tail(metric, limit)}"


def _reason(metric: str, value: float, status: str, thresholds: EffectiveThresholds) -> str:
    level = thresholds.levels[metric]
    return _text(metric, value, level.alert if status == "alert" else level.warn)


def _group_values(group: GroupSnapshot) -> tuple[float | None, float | None, float, float | None]:
    """The values of ``GROUP_METRICS`` a reason shows (the oldest pending age in seconds)."""
    oldest_ms = group.oldest_pending_ms
    return (
        group.active_consumers,
        group.lag,
        group.pending,
        None if oldest_ms is None else round(oldest_ms / 1000, 1),
    )


def _cap(chosen: list[str]) -> str:
    if len(chosen) > 3:  # a row, not a report: the first few and how many more
        chosen = [*chosen[:3], f"{len(chosen) - 3} more"]
    return "; ".join(chosen)


def group_reason(
    group: GroupSnapshot, thresholds: EffectiveThresholds, checks: Mapping[str, str] | None = None
) -> str:
    """Why a group has its status: each check at that status with its value and threshold
    ("lag 500 ≥ 100"); empty when ok. ``checks``: its ``group_checks``, if known."""
    found = [
        (metric, value, checks[metric] if checks else thresholds.status_of(metric, value))
        for metric, value in zip(GROUP_METRICS, _group_values(group), strict=True)
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
        for metric, value in zip(GROUP_METRICS, _group_values(group), strict=True):
            status = checks[metric] if checks else thresholds.status_of(metric, value)
            if status != "ok" and value is not None:
                text = _reason(metric, value, status, thresholds)
                parts.append((status, f"{text} ({group.name})"))
    status = worst([s for s, _ in parts])
    return _cap([text for s, text in parts if s == status])
