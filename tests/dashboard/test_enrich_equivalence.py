"""The fast enrichment gives what the plain one gave, field by field.

``from_history`` and the threshold checks were rewritten for speed (judges made once per
thresholds object, reasons only for what is not ok, one pass per group). The plain code
they replace is kept below as the reference; random queues, groups and thresholds (levels
set or blank, at 0, in either order, values on the levels, unreadable groups, claims, dead
letters, errors) go through both and must come out equal.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from dashboard import conf
from dashboard.catalog.models import LIBRARY_METRIC, METRICS, EffectiveThresholds, Level
from dashboard.monitor import enrich, forecast, rates, status, trend, trimrisk
from dashboard.monitor.storms import Bounce, ClaimStats
from dashboard.monitor.types import ConsumerSnapshot, GroupSnapshot, QueueSnapshot, evolve
from queues import health

# --- Reference: the plain code, as it was before the rewrite --------------------------------


def ref_classify(metric: str, value: float | None, limit: health.Threshold) -> str:
    if value is None:
        return "ok"
    if health.LOWER_IS_WORSE[metric]:
        if limit.alert is not None and value <= limit.alert:
            return "alert"
        if limit.warn is not None and value <= limit.warn:
            return "warn"
        return "ok"
    if limit.alert is not None and value >= limit.alert:
        return "alert"
    if limit.warn is not None and value >= limit.warn:
        return "warn"
    return "ok"


def ref_status_of(thresholds: EffectiveThresholds, metric: str, value: float | None) -> str:
    if value is None:
        return "ok"
    level = thresholds.levels.get(metric)
    if level is None:
        return "ok"
    limit = health.Threshold(warn=level.warn, alert=level.alert)
    return ref_classify(LIBRARY_METRIC[metric], value, limit)


def ref_group_checks(group: GroupSnapshot, thresholds: EffectiveThresholds) -> dict[str, str]:
    oldest_s = None if group.oldest_pending_ms is None else group.oldest_pending_ms / 1000
    return {
        "active_consumers": ref_status_of(thresholds, "active_consumers", group.active_consumers),
        "lag": ref_status_of(thresholds, "lag", group.lag),
        "pending": ref_status_of(thresholds, "pending", group.pending),
        "oldest_pending": ref_status_of(thresholds, "oldest_pending", oldest_s),
    }


_RANK = {"ok": 0, "warn": 1, "alert": 2}


def ref_queue_checks(
    snapshot: QueueSnapshot,
    thresholds: EffectiveThresholds,
    per_group: Sequence[Mapping[str, str]] | None = None,
) -> dict[str, str]:
    checks = {"dead_letters": ref_status_of(thresholds, "dead_letters", snapshot.dead_letters)}
    for i, group in enumerate(snapshot.groups):
        found = per_group[i] if per_group is not None else ref_group_checks(group, thresholds)
        for metric, found_status in found.items():
            if _RANK.get(found_status, 0) > _RANK.get(checks.get(metric, "ok"), 0):
                checks[metric] = found_status
            else:
                checks.setdefault(metric, "ok")
    return checks


_LABELS = {
    "active_consumers": ("active consumers", ""),
    "lag": ("lag", ""),
    "pending": ("pending", ""),
    "oldest_pending": ("oldest pending", " s"),
    "dead_letters": ("dead letters", ""),
}


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def ref_reason(metric: str, value: float, found: str, thresholds: EffectiveThresholds) -> str:
    level = thresholds.levels[metric]
    limit = level.alert if found == "alert" else level.warn
    label, unit = _LABELS.get(metric, (metric, ""))
    higher = next((m.higher_is_worse for m in METRICS if m.key == metric), True)
    sign = "≥" if higher else "≤"
    return f"{label} {_number(value)}{unit} {sign} {_number(limit or 0)}{unit}"


def ref_group_values(group: GroupSnapshot) -> dict[str, float | None]:
    return {
        "active_consumers": group.active_consumers,
        "lag": group.lag,
        "pending": group.pending,
        "oldest_pending": None
        if group.oldest_pending_ms is None
        else round(group.oldest_pending_ms / 1000, 1),
    }


def ref_group_reason(
    group: GroupSnapshot, thresholds: EffectiveThresholds, checks: Mapping[str, str] | None = None
) -> str:
    found = [
        (metric, value, checks[metric] if checks else ref_status_of(thresholds, metric, value))
        for metric, value in ref_group_values(group).items()
    ]
    worst = health.worst([s for _, _, s in found])
    if worst == "ok":
        return ""
    return "; ".join(
        ref_reason(m, v, s, thresholds) for m, v, s in found if s == worst and v is not None
    )


def ref_queue_reason(
    snapshot: QueueSnapshot,
    thresholds: EffectiveThresholds,
    per_group: Sequence[Mapping[str, str]] | None = None,
) -> str:
    parts: list[tuple[str, str]] = []
    dead = snapshot.dead_letters
    dead_status = ref_status_of(thresholds, "dead_letters", dead)
    if dead is not None and dead_status != "ok":
        parts.append((dead_status, ref_reason("dead_letters", dead, dead_status, thresholds)))
    for i, group in enumerate(snapshot.groups):
        checks = per_group[i] if per_group is not None else None
        for metric, value in ref_group_values(group).items():
            found = checks[metric] if checks else ref_status_of(thresholds, metric, value)
            if found != "ok" and value is not None:
                text = ref_reason(metric, value, found, thresholds)
                parts.append((found, f"{text} ({group.name})"))
    worst = health.worst([s for s, _ in parts])
    chosen = [text for s, text in parts if s == worst]
    if len(chosen) > 3:
        chosen = [*chosen[:3], f"{len(chosen) - 3} more"]
    return "; ".join(chosen)


def ref_forecast(
    *, lag: int | None, limit: float | None, line: trend.Fit | None, noise: float
) -> forecast.Forecast:
    if lag is None:
        return forecast.Forecast(None, None, None)
    drain = 0.0 if lag == 0 else None
    breach = 0.0 if limit is not None and lag >= limit else None
    if line is None or abs(line.growth) < noise or (lag == 0 and line.slope < 0):
        return forecast.Forecast(drain, breach, None)
    spread = 2 * line.stderr / abs(line.slope)
    if not math.isfinite(spread) or spread > forecast.MAX_SPREAD:
        return forecast.Forecast(
            drain, breach, round(spread, 3) if math.isfinite(spread) else None, True
        )
    level = max(0.0, line.fitted_lag)
    if drain is None and line.slope < 0:
        drain = level / -line.slope
    if breach is None and limit is not None and line.slope > 0:
        breach = max(0.0, limit - level) / line.slope
    return forecast.Forecast(drain, breach, round(spread, 3))


def ref_assess(*, maxlen: int, length: int, groups: Sequence[Any]) -> trimrisk.TrimRisk:
    maxlen = max(0, int(maxlen))
    removes = max(0, length - maxlen)
    per_group = []
    for g in groups:
        if g.lag is None:
            undelivered = None if removes else 0
            certain_pending = 0
            keep: int | None = None
        else:
            undelivered = max(0, g.lag - maxlen)
            certain_pending = min(g.pending, max(0, g.lag + g.pending - maxlen))
            keep = g.lag + g.pending
        possible = bool(removes) and g.pending > certain_pending
        per_group.append(
            trimrisk.GroupTrimRisk(g.name, undelivered, certain_pending, possible, keep)
        )
    known = [g.undelivered for g in per_group if g.undelivered is not None]
    unknown = any(g.undelivered is None for g in per_group)
    undelivered_total = None if unknown and not any(known) else max(known, default=0)
    pending_at_least = max((g.pending_at_least for g in per_group), default=0)
    pending_possible = any(g.pending_possible for g in per_group)
    keeps = [g.keep_at_least for g in per_group if g.keep_at_least is not None]
    if undelivered_total or pending_at_least:
        level = "alert"
    elif pending_possible or (unknown and removes):
        level = "warn"
    else:
        level = "ok"
    return trimrisk.TrimRisk(
        maxlen=maxlen,
        length=length,
        removes=removes,
        undelivered=undelivered_total,
        pending_at_least=pending_at_least,
        pending_possible=pending_possible,
        safe_maxlen_at_least=max(keeps) if keeps else None,
        level=level,
        detail=trimrisk._detail(
            removes, undelivered_total, pending_at_least, pending_possible, unknown
        ),
        groups=tuple(per_group),
    )


def ref_for_snapshot(snapshot: Any, maxlen: int | None) -> trimrisk.TrimRisk | None:
    if maxlen is None or not getattr(snapshot, "exists", False):
        return None
    groups = [
        trimrisk.GroupProgress(g.name, g.lag, g.pending) for g in getattr(snapshot, "groups", ())
    ]
    return ref_assess(maxlen=maxlen, length=int(getattr(snapshot, "length", 0)), groups=groups)


def ref_group_status(
    group: GroupSnapshot, thresholds: EffectiveThresholds | None
) -> tuple[dict[str, str], str, str]:
    if not thresholds:
        return {}, "ok", ""
    checks = ref_group_checks(group, thresholds)
    group_status = health.worst(checks.values())
    reason = ref_group_reason(group, thresholds, checks) if group_status != "ok" else ""
    return checks, group_status, reason


def ref_classify_group(group: GroupSnapshot, thresholds: EffectiveThresholds | None) -> Any:
    _, group_status, reason = ref_group_status(group, thresholds)
    return evolve(group, status=group_status, reason=reason)


def ref_classify_queue(
    snapshot: QueueSnapshot,
    thresholds: EffectiveThresholds | None,
    maxlen: int | None,
    *,
    trend_state: str,
    rate_in: float | None,
    rate_out: float | None,
    per_group: list[dict[str, str]] | None = None,
) -> Any:
    if snapshot.error:
        checks: dict[str, str] = {}
        queue_status, reason = "alert", ""
    else:
        checks = ref_queue_checks(snapshot, thresholds, per_group) if thresholds else {}
        queue_status = health.worst(checks.values())
        reason = (
            ref_queue_reason(snapshot, thresholds, per_group)
            if thresholds and queue_status != "ok"
            else ""
        )
    return evolve(
        snapshot,
        checks=checks,
        status=queue_status,
        reason=reason,
        trend=trend_state,
        rate_in=rate_in,
        rate_out=rate_out,
        trim_risk=ref_for_snapshot(snapshot, maxlen),
    )


def ref_from_history(
    snapshot: QueueSnapshot,
    *,
    trends: dict[tuple[str, str], trend.GroupTrend],
    added: dict[str, deque[tuple[int, int | None]]],
    claim_stats: Mapping[tuple[str, str], ClaimStats],
    thresholds: EffectiveThresholds | None,
    maxlen: int | None,
    observed: Mapping[str, trend.Verdict] | None = None,
) -> Any:
    policy = conf.trend_policy()
    window = added.setdefault(snapshot.name, deque(maxlen=trend.MAX_SAMPLES))
    window.append((snapshot.at_ms, snapshot.entries_added))
    while len(window) > 2 and window[0][0] < snapshot.at_ms - policy.window_s * 1000:
        window.popleft()
    rate_in = rates.rate(window[0], window[-1]) if len(window) > 1 else None
    lag_alert = thresholds.levels["lag"].alert if thresholds else None
    groups: list[GroupSnapshot] = []
    per_group: list[dict[str, str]] = []
    for group in snapshot.groups:
        if group.unreadable:
            groups.append(group)
            per_group.append(ref_group_checks(group, thresholds) if thresholds else {})
            continue
        tracker = trends.get((snapshot.name, group.name))
        if tracker is None:
            tracker = trends[(snapshot.name, group.name)] = trend.GroupTrend(policy)
        tracker.policy = policy
        done = observed.get(group.name) if observed is not None else None
        verdict = (
            done
            if done is not None
            else tracker.observe(
                trend.Sample(
                    snapshot.at_ms,
                    group.entries_read,
                    group.lag,
                    group.last_delivered_id,
                    group.active_consumers,
                )
            )
        )
        outlook = ref_forecast(
            lag=group.lag, limit=lag_alert, line=verdict.fit, noise=policy.min_growth
        )
        claims = claim_stats.get((snapshot.name, group.name))
        if claims is not None:
            group = evolve(
                group,
                claims=claims.claims,
                claim_rate=claims.rate_per_min,
                storm=claims.storm,
                bouncing=claims.bouncing,
            )
        checks, group_status, reason = ref_group_status(group, thresholds)
        per_group.append(checks)
        group = evolve(
            group,
            status=group_status,
            reason=reason,
            trend=verdict.state,
            trend_slope=round(verdict.fit.slope, 3) if verdict.fit else None,
            trend_window_s=round(verdict.fit.span_s, 1) if verdict.fit else None,
            rate_out=rates.read_rate(tracker.window),
            drain_seconds=outlook.drain_seconds,
            breach_seconds=outlook.breach_seconds,
            forecast_spread=outlook.spread,
            forecast_unstable=outlook.unstable,
        )
        groups.append(group)
    outs = [g.rate_out for g in groups if g.rate_out is not None]
    return ref_classify_queue(
        evolve(snapshot, groups=tuple(groups)),
        thresholds,
        maxlen,
        trend_state=trend.worst([g.trend for g in groups]),
        rate_in=rate_in,
        rate_out=min(outs) if outs else None,
        per_group=per_group if thresholds else None,
    )


def ref_from_stored(
    snapshot: QueueSnapshot,
    *,
    previous_groups: Mapping[str, Mapping[str, Any]],
    rate_in: float | None,
    rate_out: float | None,
    trend_state: str,
    thresholds: EffectiveThresholds | None,
    maxlen: int | None,
) -> Any:
    lag_alert = thresholds.levels["lag"].alert if thresholds else None
    groups = []
    for group in snapshot.groups:
        previous = previous_groups.get(group.name, {})
        group_out = previous.get("rate_out")
        groups.append(
            dataclasses.replace(
                ref_classify_group(group, thresholds),
                trend=previous.get("trend", "OK"),
                rate_out=group_out,
                drain_seconds=rates.time_to_drain(group.lag, rate_in, group_out),
                breach_seconds=rates.time_to_breach(group.lag, lag_alert, rate_in, group_out),
                claims=int(previous.get("claims") or 0),
                claim_rate=previous.get("claim_rate"),
                storm=bool(previous.get("storm")),
                bouncing=tuple(
                    Bounce(
                        message_id=str(b.get("message_id", "")),
                        claims=int(b.get("claims") or 0),
                        owners=tuple(b.get("owners") or ()),
                        deliveries=b.get("deliveries"),
                    )
                    for b in previous.get("bouncing") or ()
                ),
            )
        )
    return ref_classify_queue(
        dataclasses.replace(snapshot, groups=tuple(groups)),
        thresholds,
        maxlen,
        trend_state=trend_state,
        rate_in=rate_in,
        rate_out=rate_out,
    )


# --- Random inputs ---------------------------------------------------------------------------

#: Levels near the values each metric takes below (oldest pending in seconds).
LEVELS: dict[str, list[float | None]] = {
    "active_consumers": [None, None, 0, 1, 2, 3, 1.5],
    "lag": [None, 0, 1, 10, 100, 250, 1000, 99.5],
    "pending": [None, 0, 1, 5, 100, 1000, 2.5],
    "oldest_pending": [None, 0, 1, 5, 30, 60, 60.05, 300],
    "dead_letters": [None, 0, 1, 10, 100],
}


def random_thresholds(rng: random.Random) -> EffectiveThresholds | None:
    if rng.random() < 0.08:
        return None
    levels = {}
    for metric in METRICS:
        if metric.key != "lag" and rng.random() < 0.05:
            continue  # a metric without levels at all (not in the mapping)
        warn, alert = rng.choice(LEVELS[metric.key]), rng.choice(LEVELS[metric.key])
        if rng.random() < 0.8 and warn is not None and alert is not None:
            # mostly the valid order; sometimes the other one, which classify also reads
            low, high = sorted((warn, alert))
            warn, alert = (high, low) if not metric.higher_is_worse else (low, high)
        levels[metric.key] = Level(warn, alert)
    return EffectiveThresholds(levels)


def near(rng: random.Random, levels: Sequence[float | None], spread: int) -> int:
    """A value on a level, just beside one, or anywhere in 0..spread."""
    level = rng.choice(levels)
    if level is not None and rng.random() < 0.6:
        return max(0, int(level) + rng.choice((-1, 0, 0, 1)))
    return rng.randint(0, spread)


class GroupState:
    """One group's figures, moving poll by poll (lag with a drift, so trends fit lines)."""

    def __init__(self, rng: random.Random, name: str) -> None:
        self.name = name
        self.lag: int | None = near(rng, LEVELS["lag"], 2000)
        self.drift = rng.choice((0, 0, 30, -30, 120, -120, 400))
        self.read = rng.choice((None, rng.randint(0, 10_000)))
        self.active = near(rng, LEVELS["active_consumers"], 4)

    def poll(self, rng: random.Random, thresholds_seen: EffectiveThresholds | None) -> Any:
        if rng.random() < 0.05:
            self.lag = None
        elif self.lag is None:
            self.lag = rng.randint(0, 500)
        else:
            self.lag = max(0, self.lag + self.drift + rng.randint(-40, 40))
        if self.read is not None:
            self.read += rng.randint(0, 200)
        if rng.random() < 0.2:
            self.active = near(rng, LEVELS["active_consumers"], 4)
        pending = near(rng, LEVELS["pending"], 3000) if rng.random() < 0.8 else 0
        oldest_ms: int | None = None
        if pending:
            # ages on a level (in ms, with rounding to a tenth of a second on either side)
            level = rng.choice(LEVELS["oldest_pending"])
            if level is not None and rng.random() < 0.6:
                oldest_ms = max(0, int(level * 1000) + rng.choice((-60, -40, 0, 40, 60)))
            else:
                oldest_ms = rng.randint(0, 400_000)
        unreadable = "unreadable: a reply that does not decode" if rng.random() < 0.04 else ""
        if unreadable:
            return GroupSnapshot(self.name, 0, 0, 0, None, None, "", None, None, (), unreadable)
        consumers = (ConsumerSnapshot("w", pending, 10, True),) if rng.random() < 0.5 else ()
        return GroupSnapshot(
            name=self.name,
            consumers=max(self.active, 1),
            active_consumers=self.active,
            pending=pending,
            lag=self.lag,
            entries_read=self.read,
            last_delivered_id=f"{self.read or 0}-0",
            oldest_pending_ms=oldest_ms,
            oldest_undelivered_ms=rng.choice((None, 1000)),
            consumer_list=consumers,
        )


def random_claims(rng: random.Random) -> ClaimStats:
    bounce = Bounce("1-0", rng.randint(2, 5), ("a", "b"), rng.choice((None, 3)))
    return ClaimStats(
        claims=rng.randint(1, 50),
        rate_per_min=rng.random() * 10,
        messages=rng.randint(1, 9),
        bouncing=rng.choice(((), (bounce,))),
        storm=rng.random() < 0.5,
        storm_since_ms=None,
    )


def queues(seed: int, count: int, polls: int) -> list[list[tuple[Any, ...]]]:
    """``polls`` polls of ``count`` queues: per poll, (snapshot, claims, thresholds, maxlen)."""
    rng = random.Random(seed)
    made = []
    for q in range(count):
        name = f"q-{q}"
        thresholds = random_thresholds(rng)
        maxlen = rng.choice((None, None, 0, 5, 100, 1000))
        groups = [GroupState(rng, f"g-{g}") for g in range(rng.choice((0, 1, 1, 2, 3, 5)))]
        added: int | None = rng.randint(0, 10_000)
        dead: int | None = None if rng.random() < 0.2 else near(rng, LEVELS["dead_letters"], 200)
        at_ms = 1_700_000_000_000 + rng.randint(0, 10_000)
        series = []
        for _ in range(polls):
            at_ms += rng.choice((500, 1000, 1000, 2000, 5000))
            added = None if rng.random() < 0.05 else (added or 0) + rng.randint(0, 300)
            if dead is not None and rng.random() < 0.3:
                dead = near(rng, LEVELS["dead_letters"], 200)
            snapshot = QueueSnapshot(
                name=name,
                queue=name,
                redis_url="redis://test",
                at_ms=at_ms,
                length=rng.randint(0, 3000),
                entries_added=added,
                dead_letters=dead,
                groups=tuple(g.poll(rng, thresholds) for g in groups),
                error="ConnectionError" if rng.random() < 0.02 else "",
            )
            claims = {(name, g.name): random_claims(rng) for g in groups if rng.random() < 0.15}
            if rng.random() < 0.03:
                thresholds = random_thresholds(rng)  # edited thresholds: a new object
            series.append((snapshot, claims, thresholds, maxlen))
        made.append(series)
    return made


def observe_some(
    rng: random.Random,
    snapshot: QueueSnapshot,
    *trackers: dict[tuple[str, str], trend.GroupTrend],
) -> list[dict[str, trend.Verdict]]:
    """Feed some groups' samples to each set of trackers first, as the monitor's check for
    an unchanged queue does; their verdicts, per set."""
    names = [
        g.name
        for g in snapshot.groups
        if not g.unreadable and (snapshot.name, g.name) in trackers[0] and rng.random() < 0.7
    ]
    verdicts: list[dict[str, trend.Verdict]] = [{} for _ in trackers]
    for group in snapshot.groups:
        if group.name not in names:
            continue
        sample = trend.Sample(
            snapshot.at_ms,
            group.entries_read,
            group.lag,
            group.last_delivered_id,
            group.active_consumers,
        )
        for found, tracked in zip(verdicts, trackers, strict=True):
            found[group.name] = tracked[(snapshot.name, group.name)].observe(sample)
    return verdicts


def same(new: Any, ref: Any) -> None:
    """Equal field by field, the checks in the same order, the groups too."""
    assert vars(new) == vars(ref)
    assert list(new.checks) == list(ref.checks)
    for new_group, ref_group in zip(new.groups, ref.groups, strict=True):
        assert vars(new_group) == vars(ref_group)


# --- The comparisons ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_from_history_gives_what_the_plain_enrichment_gave(seed: int) -> None:
    seen: dict[str, set[Any]] = {
        "status": set(),
        "reason": set(),
        "forecast": set(),
        "more": set(),
        "claims": set(),
        "observed": set(),
        "trim": set(),
    }
    new_trends: dict[tuple[str, str], trend.GroupTrend] = {}
    ref_trends: dict[tuple[str, str], trend.GroupTrend] = {}
    new_added: dict[str, deque[tuple[int, int | None]]] = {}
    ref_added: dict[str, deque[tuple[int, int | None]]] = {}
    rng = random.Random(seed)
    for series in queues(seed, count=300, polls=14):
        for snapshot, claims, thresholds, maxlen in series:
            new_observed = ref_observed = None
            if rng.random() < 0.2:  # the monitor observed some groups' samples already
                new_observed, ref_observed = observe_some(rng, snapshot, new_trends, ref_trends)
            ref = ref_from_history(
                snapshot,
                trends=ref_trends,
                added=ref_added,
                claim_stats=claims,
                thresholds=thresholds,
                maxlen=maxlen,
                observed=ref_observed,
            )
            new = enrich.from_history(
                snapshot,
                trends=new_trends,
                added=new_added,
                claim_stats=claims,
                thresholds=thresholds,
                maxlen=maxlen,
                observed=new_observed,
                policy=conf.trend_policy() if snapshot.at_ms % 2 else None,
            )
            same(new, ref)
            seen["status"].add(ref.status)
            seen["reason"].update(part.split(" ")[0] for part in ref.reason.split("; ") if part)
            seen["more"].add(ref.reason.endswith("more"))
            seen["claims"].add(any(g.claims for g in ref.groups))
            seen["observed"].add(bool(ref_observed))
            seen["trim"].add(ref.trim_risk and ref.trim_risk.level)
            seen["forecast"].update(
                (g.drain_seconds not in (None, 0.0), g.breach_seconds not in (None, 0.0))
                for g in ref.groups
            )
            seen["forecast"].update(("unstable",) for g in ref.groups if g.forecast_unstable)
    # the inputs reached every case worth comparing
    assert seen["status"] == {"ok", "warn", "alert"}
    assert {"active", "lag", "pending", "oldest", "dead"} <= seen["reason"]
    assert seen["more"] == {True, False}
    assert seen["claims"] == {True, False}
    assert seen["observed"] == {True, False}
    assert seen["trim"] == {None, "ok", "warn", "alert"}
    assert {(True, False), (False, True), ("unstable",)} <= seen["forecast"]


@pytest.mark.parametrize("seed", range(2))
def test_a_live_read_classifies_as_the_plain_code_did(seed: int) -> None:
    rng = random.Random(seed)
    for series in queues(100 + seed, count=200, polls=2):
        for snapshot, _, thresholds, maxlen in series:
            previous = {
                g.name: {
                    "trend": rng.choice(("OK", "WARN", "STALL")),
                    "rate_out": rng.choice((None, 0.0, 3.5)),
                    "claims": rng.choice((None, 0, 4)),
                    "claim_rate": rng.choice((None, 1.5)),
                    "storm": rng.random() < 0.3,
                    "bouncing": rng.choice(
                        ([], [{"message_id": "1-0", "claims": 2, "owners": ["a"]}])
                    ),
                }
                for g in snapshot.groups
                if rng.random() < 0.8
            }
            kwargs = {
                "previous_groups": previous,
                "rate_in": rng.choice((None, 0.0, 2.0, 50.0)),
                "rate_out": rng.choice((None, 1.0)),
                "trend_state": rng.choice(("OK", "STOP")),
                "thresholds": thresholds,
                "maxlen": maxlen,
            }
            same(enrich.from_stored(snapshot, **kwargs), ref_from_stored(snapshot, **kwargs))


def test_the_checks_and_reasons_of_the_status_module_are_the_plain_ones() -> None:
    for series in queues(7, count=400, polls=1):
        snapshot, _, thresholds, _ = series[0]
        if thresholds is None:
            continue
        per_group = [ref_group_checks(g, thresholds) for g in snapshot.groups]
        for group, checks in zip(snapshot.groups, per_group, strict=True):
            assert status.group_checks(group, thresholds) == checks
            assert list(status.group_checks(group, thresholds)) == list(checks)
            for given in (None, checks):
                assert status.group_reason(group, thresholds, given) == ref_group_reason(
                    group, thresholds, given
                )
        for given_checks in (None, per_group):
            assert status.queue_checks(snapshot, thresholds, given_checks) == ref_queue_checks(
                snapshot, thresholds, given_checks
            )
            assert status.queue_reason(snapshot, thresholds, given_checks) == ref_queue_reason(
                snapshot, thresholds, given_checks
            )


def test_judges_classify_as_the_plain_comparisons_did() -> None:
    rng = random.Random(3)
    values: list[float] = [0, 1, 2, 10, 99, 100, 101, 99.5, 0.5, -1, -0.0, 1e18, math.inf]
    levels: list[float | None] = [None, 0, 1, 2, 10, 100, 99.5, -0.0, 1e18]
    for _ in range(5000):
        metric = rng.choice(list(health.LOWER_IS_WORSE))
        limit = health.Threshold(rng.choice(levels), rng.choice(levels))
        value = rng.choice([*values, None, rng.uniform(-5, 200)])
        assert health.classify(metric, value, limit) == ref_classify(metric, value, limit)
        key = next((k for k, v in LIBRARY_METRIC.items() if v == metric), metric)
        thresholds = EffectiveThresholds({key: Level(limit.warn, limit.alert)})
        assert thresholds.status_of(key, value) == ref_status_of(thresholds, key, value)


def test_trim_risk_is_the_plain_assessment() -> None:
    rng = random.Random(11)
    for _ in range(5000):
        groups = [
            trimrisk.GroupProgress(
                f"g-{i}",
                rng.choice((None, 0, 1, 5, 50, 1000, rng.randint(0, 3000))),
                rng.choice((0, 1, 5, 50, rng.randint(0, 3000))),
            )
            for i in range(rng.choice((0, 1, 2, 3, 5)))
        ]
        maxlen, length = rng.choice((0, 1, 5, 100, 2000)), rng.choice((0, 3, 100, 5000))
        assert trimrisk.assess(maxlen=maxlen, length=length, groups=groups) == ref_assess(
            maxlen=maxlen, length=length, groups=groups
        )
