"""Live reads of queues from Redis, enriched like the monitor's (dashboard.monitor.enrich)
with what only a series of polls tells taken from the monitor's stored view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from dashboard import conf
from dashboard.catalog.models import QueueDefinition, Threshold
from dashboard.models import MetricSnapshot, QueueState
from dashboard.monitor import enrich
from dashboard.monitor.library import manager_for
from dashboard.monitor.poller import Target, poll
from dashboard.monitor.types import QueueSnapshot

#: What a read that reaches Redis may raise (views show "Redis unreachable").
REDIS_ERRORS = (redis.RedisError, ConnectionError, OSError)


def target(definition: QueueDefinition) -> Target:
    return Target(
        definition.name,
        definition.queue_name,
        definition.effective_redis_url(),
        tuple(definition.groups),
        definition.stream,
    )


def live_snapshots(definitions: list[QueueDefinition]) -> dict[str, QueueSnapshot]:
    """A live poll of ``definitions`` with threshold status; what only a series of polls
    can tell (trend, rates, claim stats) comes from the monitor's latest state, and the
    forecasts are recomputed from the live lag and those rates."""
    rows = list(Threshold.objects.all())
    result = poll(
        [target(d) for d in definitions],
        manager_for=manager_for,
        active_idle_ms=int(conf.active_idle() * 1000),
        caps=conf.caps(),
    )
    by_name = {d.name: d for d in definitions}
    names = [d.name for d in definitions]
    states = stored_states(names)
    latest = _latest_stored([n for n in names if n not in states])
    out: dict[str, QueueSnapshot] = {}
    for snap in result.snapshots:
        state = states.get(snap.name)
        stored = latest.get(snap.name)
        if state is not None:
            previous_groups = {g["name"]: g for g in state.get("groups", [])}
            rate_in, rate_out, trend = state.get("rate_in"), state.get("rate_out"), state["trend"]
        else:
            previous_groups = dict(stored.groups) if stored else {}
            rate_in = stored.rate_in if stored else None
            rate_out = stored.rate_out if stored else None
            trend = stored.trend if stored else "OK"
        out[snap.name] = enrich.from_stored(
            snap,
            previous_groups=previous_groups,
            rate_in=rate_in,
            rate_out=rate_out,
            trend_state=trend,
            thresholds=Threshold.effective_for(by_name[snap.name], rows=rows),
            maxlen=by_name[snap.name].maxlen,
        )
    return out


def stored_states(names: list[str]) -> dict[str, dict[str, Any]]:
    """The monitor's latest stored view (QueueState.data) of each named queue."""
    return dict(QueueState.objects.filter(queue__in=names).values_list("queue", "data"))


def _latest_stored(names: list[str]) -> dict[str, MetricSnapshot]:
    since = datetime.now(UTC) - timedelta(minutes=5)
    latest: dict[str, MetricSnapshot] = {}
    rows = MetricSnapshot.objects.filter(
        queue__in=names, resolution=MetricSnapshot.RAW, at__gte=since
    ).order_by("at")
    for row in rows:
        latest[row.queue] = row
    return latest
