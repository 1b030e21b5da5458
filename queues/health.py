"""Health of a queue from its QueueInfo: ok / warn / alert per metric, worst one wins."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, cast

from queues.types import Check, Health, QueueInfo, Status

#: Metric -> True when lower values are worse (fewer active consumers is worse).
LOWER_IS_WORSE: dict[str, bool] = {
    "active_consumers": True,
    "lag": False,
    "pending": False,
    "oldest_pending_ms": False,
    "dead": False,
}

#: maxmemory-policy values that may evict keys without an expiry, i.e. streams.
EVICTING_POLICIES = frozenset({"allkeys-lru", "allkeys-lfu", "allkeys-random"})

_RANK: dict[str, int] = {"ok": 0, "warn": 1, "alert": 2}


def evicts_keys(policy: str | None) -> bool:
    """True when Redis may evict stream keys under memory pressure (messages lost)."""
    return policy in EVICTING_POLICIES


@dataclass(frozen=True, slots=True)
class Threshold:
    """Levels of one metric: at or beyond ``warn`` -> warn, at or beyond ``alert`` -> alert.
    None switches a level off."""

    warn: float | None = None
    alert: float | None = None


def _threshold(value: Any, name: str) -> Threshold:
    if isinstance(value, Threshold):
        return value
    if isinstance(value, Mapping):
        return Threshold(warn=value.get("warn"), alert=value.get("alert"))
    if isinstance(value, tuple | list) and len(value) == 2:
        return Threshold(warn=value[0], alert=value[1])
    raise ValueError(f"threshold {name!r} must be Threshold(warn, alert) or (warn, alert)")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """ok/warn/alert levels per metric; warn must lie on the ok side of alert.

    ``Thresholds(lag=(100, 1000), active_consumers=(2, 1))``: lag >= 100 warns, >= 1000
    alerts; 2 active consumers warn, 1 or none alert.
    """

    active_consumers: Threshold = Threshold(warn=None, alert=0)
    lag: Threshold = Threshold(warn=1_000, alert=10_000)
    pending: Threshold = Threshold(warn=1_000, alert=10_000)
    oldest_pending_ms: Threshold = Threshold(warn=60_000, alert=300_000)
    dead: Threshold = Threshold(warn=1, alert=1_000)

    def __post_init__(self) -> None:
        for f in fields(self):
            limit = _threshold(getattr(self, f.name), f.name)
            object.__setattr__(self, f.name, limit)
            for level in (limit.warn, limit.alert):
                if level is not None and (
                    isinstance(level, bool) or not isinstance(level, int | float) or level < 0
                ):
                    raise ValueError(f"{f.name}: levels must be numbers >= 0, got {level!r}")
            if limit.warn is None or limit.alert is None:
                continue
            if LOWER_IS_WORSE[f.name] and not limit.warn > limit.alert:
                raise ValueError(
                    f"{f.name}: warn ({limit.warn}) must be above alert ({limit.alert}) "
                    "(fewer is worse, so warn comes first on the way down)"
                )
            if not LOWER_IS_WORSE[f.name] and not limit.warn < limit.alert:
                raise ValueError(
                    f"{f.name}: warn ({limit.warn}) must be below alert ({limit.alert})"
                )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Thresholds:
        """From ``{"lag": {"warn": 10, "alert": 100}, ...}``; unknown metrics are an error."""
        unknown = set(data) - set(LOWER_IS_WORSE)
        if unknown:
            raise ValueError(f"unknown threshold metrics: {sorted(unknown)}")
        return cls(**{name: _threshold(value, name) for name, value in data.items()})


def classify(metric: str, value: float | None, limit: Threshold) -> Status:
    """Status of ``value`` for ``metric`` under ``limit`` (unknown values are ok)."""
    if value is None:
        return "ok"
    return judge(metric, limit)(value)


def judge(metric: str, limit: Threshold) -> Callable[[float], Status]:
    """``classify`` of ``metric`` under ``limit`` as a function of a known value, to make
    once and call often (a monitor judges 10 000 queues × 4 metrics every cycle)."""
    return _judge(LOWER_IS_WORSE[metric], limit.warn, limit.alert)


@functools.lru_cache(maxsize=1024)
def _judge(lower: bool, warn: float | None, alert: float | None) -> Callable[[float], Status]:
    # One function per shape of levels, so a call compares only the levels that are set.
    if warn is None:
        if alert is None:
            return _ok
        return functools.partial(_at_most_alert if lower else _at_least_alert, alert)
    if alert is None:
        return functools.partial(_at_most_warn if lower else _at_least_warn, warn)
    return functools.partial(_at_most if lower else _at_least, alert, warn)


def _ok(value: float) -> Status:
    return "ok"


def _at_least(alert: float, warn: float, value: float) -> Status:
    return "alert" if value >= alert else "warn" if value >= warn else "ok"


def _at_least_alert(alert: float, value: float) -> Status:
    return "alert" if value >= alert else "ok"


def _at_least_warn(warn: float, value: float) -> Status:
    return "warn" if value >= warn else "ok"


def _at_most(alert: float, warn: float, value: float) -> Status:
    return "alert" if value <= alert else "warn" if value <= warn else "ok"


def _at_most_alert(alert: float, value: float) -> Status:
    return "alert" if value <= alert else "ok"


def _at_most_warn(warn: float, value: float) -> Status:
    return "warn" if value <= warn else "ok"


def worst(statuses: Iterable[str]) -> Status:
    """The worst of ``statuses`` ("ok" when there is none). The one ranking of statuses:
    the dashboard ranks stored ones with it too, where a status it does not know ranks as ok."""
    return cast(Status, max(statuses, key=lambda s: _RANK.get(s, 0), default="ok"))


def evaluate(
    info: QueueInfo, thresholds: Thresholds, *, eviction_policy: str | None = None
) -> Health:
    """Checks of one queue: per group active consumers, lag, pending, oldest pending age;
    per queue the dead-letter size and whether Redis may evict the queue's keys."""
    checks: list[Check] = []

    def check(metric: str, value: float | None, group: str | None, detail: str = "") -> None:
        limit: Threshold = getattr(thresholds, metric)
        status = classify(metric, value, limit)
        checks.append(Check(metric, status, value, limit.warn, limit.alert, group, detail))

    if not info.groups:
        check("active_consumers", 0, None, "no consumer groups")
        check("lag", info.length, None, "no consumer groups: every entry is undelivered")
    for group in info.groups:
        check("active_consumers", group.active_consumers, group.name)
        check("lag", group.lag, group.name, "" if group.lag is not None else "lag unknown")
        check("pending", group.pending, group.name)
        check("oldest_pending_ms", group.oldest_pending_ms, group.name)
    if info.dead is not None:  # unknown for a plain stream: no check rather than a false 0
        check("dead", info.dead, None)
    if eviction_policy is not None:
        evicting = evicts_keys(eviction_policy)
        checks.append(
            Check(
                "maxmemory_policy",
                "warn" if evicting else "ok",
                None,
                None,
                None,
                None,
                f"maxmemory-policy {eviction_policy}"
                + (": Redis may evict queue keys and lose messages" if evicting else ""),
            )
        )
    return Health(info.name, worst([c.status for c in checks]), tuple(checks))
