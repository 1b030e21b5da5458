"""Enrichment of a polled snapshot: threshold status and reasons, trend, rates, forecasts,
claim stats and trim risk. One pipeline for the monitor and for live reads.

The monitor learns what only a series of polls tells (trend, rates, claims) from its own
windows (:func:`from_history`); a live read takes it from the monitor's stored view
(:func:`from_stored`). Both then classify with the same :func:`classify_group` and
:func:`classify_queue`.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Mapping
from typing import Any, cast

from dashboard import conf
from dashboard.catalog.models import EffectiveThresholds
from dashboard.monitor import forecast, rates, status, trend, trimrisk
from dashboard.monitor.storms import Bounce, ClaimStats
from dashboard.monitor.types import GroupSnapshot, QueueSnapshot, evolve

__all__ = ["classify_group", "classify_queue", "from_history", "from_stored"]


def classify_group(group: GroupSnapshot, thresholds: EffectiveThresholds | None) -> GroupSnapshot:
    """``group`` with its threshold status and the reason for it."""
    if not thresholds:
        return cast(GroupSnapshot, evolve(group, status="ok", reason=""))
    _, group_status, parts = status.judge_group(group, thresholds)
    return cast(GroupSnapshot, evolve(group, status=group_status, reason="; ".join(parts)))


def classify_queue(
    snapshot: QueueSnapshot,
    thresholds: EffectiveThresholds | None,
    maxlen: int | None,
    *,
    trend_state: str,
    rate_in: float | None,
    rate_out: float | None,
    per_group: list[dict[str, str]] | None = None,
) -> QueueSnapshot:
    """``snapshot`` (its groups already classified) with its checks, status, reason, trend,
    rates and trim risk. A queue that could not be read is at alert with no checks.
    ``per_group``: each group's checks, when the caller has them."""
    if snapshot.error:
        checks: dict[str, str] = {}
        queue_status, reason = "alert", ""
    else:
        checks = status.queue_checks(snapshot, thresholds, per_group) if thresholds else {}
        queue_status = status.worst(checks.values())
        reason = (
            status.queue_reason(snapshot, thresholds, per_group)
            if thresholds and queue_status != "ok"
            else ""
        )
    return evolve(  # type: ignore[no-any-return]
        snapshot,
        checks=checks,
        status=queue_status,
        reason=reason,
        trend=trend_state,
        rate_in=rate_in,
        rate_out=rate_out,
        trim_risk=trimrisk.for_snapshot(snapshot, maxlen),
    )


def from_history(
    snapshot: QueueSnapshot,
    *,
    trends: dict[tuple[str, str], trend.GroupTrend],
    added: dict[str, deque[tuple[int, int | None]]],
    claim_stats: Mapping[tuple[str, str], ClaimStats],
    thresholds: EffectiveThresholds | None,
    maxlen: int | None,
    observed: Mapping[str, trend.Verdict] | None = None,
    policy: trend.Policy | None = None,
) -> QueueSnapshot:
    """The monitor's enrichment: feeds this poll into its windows (``trends`` per group,
    ``added`` per queue, updated in place) and reads trend, rates and forecasts from them.
    ``observed``: verdicts of groups whose trend window already took this poll's sample.
    ``policy``: ``conf.trend_policy()``, when the caller has it for a whole cycle."""
    if policy is None:
        policy = conf.trend_policy()
    name, at_ms = snapshot.name, snapshot.at_ms
    window = added.get(name)
    if window is None:
        window = added[name] = deque(maxlen=trend.MAX_SAMPLES)
    window.append((at_ms, snapshot.entries_added))
    horizon = at_ms - policy.window_s * 1000
    while len(window) > 2 and window[0][0] < horizon:
        window.popleft()  # the in-rate covers the trend's time window
    rate_in = rates.rate(window[0], window[-1]) if len(window) > 1 else None
    lag_alert = thresholds.levels["lag"].alert if thresholds else None
    groups: list[GroupSnapshot] = []
    judged: list[status.GroupJudgement] = []
    for group in snapshot.groups:
        if thresholds:
            _, group_status, parts = judgement = status.judge_group(group, thresholds)
            judged.append(judgement)  # an unreadable group's figures count for the queue
        else:
            group_status, parts = "ok", []
        if group.unreadable:
            groups.append(group)  # no sample: its zeros would read as a rewind
            continue
        key = (name, group.name)
        tracker = trends.get(key)
        if tracker is None:
            tracker = trends[key] = trend.GroupTrend(policy)
        tracker.policy = policy
        verdict = observed.get(group.name) if observed is not None else None
        if verdict is None:
            verdict = tracker.observe(
                trend.Sample(
                    at_ms,
                    group.entries_read,
                    group.lag,
                    group.last_delivered_id,
                    group.active_consumers,
                )
            )
        line = verdict.fit
        outlook = forecast.forecast(
            lag=group.lag, limit=lag_alert, line=line, noise=policy.min_growth
        )
        claims = claim_stats.get(key)
        if claims is not None:  # rare: a second evolve costs less than a dict of changes
            group = evolve(
                group,
                claims=claims.claims,
                claim_rate=claims.rate_per_min,
                storm=claims.storm,
                bouncing=claims.bouncing,
            )
        groups.append(
            evolve(
                group,
                status=group_status,
                reason="; ".join(parts),
                trend=verdict.state,
                trend_slope=round(line.slope, 3) if line else None,
                trend_window_s=round(line.span_s, 1) if line else None,
                rate_out=rates.read_rate(tracker.window),
                drain_seconds=outlook.drain_seconds,
                breach_seconds=outlook.breach_seconds,
                forecast_spread=outlook.spread,
                forecast_unstable=outlook.unstable,
            )
        )
    if snapshot.error:
        checks: dict[str, str] = {}
        queue_status, reason = "alert", ""
    elif thresholds:
        checks, queue_status, reason = status.judge_queue(snapshot, thresholds, judged)
    else:
        checks, queue_status, reason = {}, "ok", ""
    outs = [g.rate_out for g in groups if g.rate_out is not None]
    return evolve(  # type: ignore[no-any-return]
        snapshot,
        groups=tuple(groups),
        checks=checks,
        status=queue_status,
        reason=reason,
        trend=trend.worst([g.trend for g in groups]),
        rate_in=rate_in,
        rate_out=min(outs) if outs else None,  # the slowest group drains the queue
        trim_risk=trimrisk.for_snapshot(snapshot, maxlen),
    )


def from_stored(
    snapshot: QueueSnapshot,
    *,
    previous_groups: Mapping[str, Mapping[str, Any]],
    rate_in: float | None,
    rate_out: float | None,
    trend_state: str,
    thresholds: EffectiveThresholds | None,
    maxlen: int | None,
) -> QueueSnapshot:
    """A live read's enrichment: trend, rates and claim stats from the monitor's stored
    view (``previous_groups``: its JSON of each group by name), forecasts recomputed from
    the live lag and those rates."""
    lag_alert = thresholds.levels["lag"].alert if thresholds else None
    groups = []
    for group in snapshot.groups:
        previous = previous_groups.get(group.name, {})
        group_out = previous.get("rate_out")
        groups.append(
            dataclasses.replace(
                classify_group(group, thresholds),
                trend=previous.get("trend", "OK"),
                rate_out=group_out,
                drain_seconds=rates.time_to_drain(group.lag, rate_in, group_out),
                breach_seconds=rates.time_to_breach(group.lag, lag_alert, rate_in, group_out),
                claims=int(previous.get("claims") or 0),
                claim_rate=previous.get("claim_rate"),
                storm=bool(previous.get("storm")),
                bouncing=tuple(_bounce(b) for b in previous.get("bouncing") or ()),
            )
        )
    return classify_queue(
        dataclasses.replace(snapshot, groups=tuple(groups)),
        thresholds,
        maxlen,
        trend_state=trend_state,
        rate_in=rate_in,
        rate_out=rate_out,
    )


def _bounce(data: Mapping[str, Any]) -> Bounce:
    return Bounce(
        message_id=str(data.get("message_id", "")),
        claims=int(data.get("claims") or 0),
        owners=tuple(data.get("owners") or ()),
        deliveries=data.get("deliveries"),
    )
