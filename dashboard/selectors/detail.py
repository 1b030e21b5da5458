"""One queue's page: its definition, a live snapshot, thresholds, claim storms and poison
suspects, and what a trim would drop."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, TypedDict

from django.shortcuts import get_object_or_404

from dashboard import conf
from dashboard.catalog.models import METRICS, QueueDefinition, Threshold
from dashboard.models import ClaimStorm
from dashboard.monitor import trimrisk
from dashboard.monitor.types import QueueSnapshot
from dashboard.selectors.live import live_snapshots
from dashboard.selectors.monitor import MonitorStatus, monitor_state
from dashboard.selectors.pending import PendingEntry, top_deliveries


class ThresholdRow(TypedDict):
    metric: str
    label: str
    warn: float | None
    alert: float | None
    unit: str
    worse: str  # "higher" or "lower"


class GroupClaims(TypedDict):
    group: str
    claims: int
    claim_rate: float | None
    storm: bool
    bouncing: list[dict[str, Any]]
    top_deliveries: list[PendingEntry]
    poison_suspects: list[str]


class ClaimSummary(TypedDict):
    window_seconds: float
    storm_claims: int
    poison_deliveries: int
    storm: bool
    groups: list[GroupClaims]
    incidents: list[dict[str, object]]


class QueueDetail(TypedDict):
    name: str
    queue: str
    plain: bool
    notes: str
    groups_watched: list[str]
    snapshot: dict[str, Any]
    thresholds: dict[str, Any]
    threshold_rows: list[ThresholdRow]
    monitor: MonitorStatus
    claims: ClaimSummary


def queue_get(*, name: str) -> QueueDefinition:
    return get_object_or_404(QueueDefinition, name=name)


def queue_detail(*, definition: QueueDefinition) -> QueueDetail:
    """The queue page's data: live snapshot with groups and consumers, thresholds, cost."""
    snap = live_snapshots([definition])[definition.name]
    thresholds = Threshold.effective_for(definition)
    return {
        "name": definition.name,
        "queue": definition.queue_name,
        "plain": definition.is_plain,
        "notes": definition.notes,
        "groups_watched": definition.groups,
        "snapshot": snap.as_json(),
        "thresholds": thresholds.as_dict(),
        "threshold_rows": [
            {
                "metric": m.key,
                "label": m.label,
                "warn": thresholds.levels[m.key].warn,
                "alert": thresholds.levels[m.key].alert,
                "unit": m.unit,
                "worse": "higher" if m.higher_is_worse else "lower",
            }
            for m in METRICS
        ],
        "monitor": monitor_state(),
        "claims": claim_summary(definition=definition, snapshot=snap),
    }


def trim_risk(*, definition: QueueDefinition, maxlen: int) -> dict[str, Any]:
    """What trimming the queue to ``maxlen`` would drop (live numbers from the library),
    beside what the library's safe trim would remove."""
    snap = live_snapshots([definition])[definition.name]
    risk = trimrisk.for_snapshot(snap, maxlen)
    if risk is None:
        return {"maxlen": maxlen, "exists": False, "level": "ok", "detail": "no such stream"}
    return {"exists": True, **asdict(risk)}


def claim_summary(*, definition: QueueDefinition, snapshot: QueueSnapshot) -> ClaimSummary:
    """Claim storms and poison suspects of a queue: per group the claim rate and the
    messages bouncing between owners (from the monitor), the pending entries delivered
    most often (from an XPENDING sample), and the queue's recent storm incidents."""
    suspect_at = conf.poison_deliveries()
    groups: list[GroupClaims] = []
    for group in snapshot.groups:
        top = top_deliveries(definition=definition, group=group.name) if snapshot.exists else []
        groups.append(
            {
                "group": group.name,
                "claims": group.claims,
                "claim_rate": group.claim_rate,
                "storm": group.storm,
                "bouncing": [asdict(b) for b in group.bouncing],
                "top_deliveries": top,
                "poison_suspects": [e["id"] for e in top if e["deliveries"] >= suspect_at],
            }
        )
    return {
        "window_seconds": conf.storm_window(),
        "storm_claims": conf.storm_claims(),
        "poison_deliveries": suspect_at,
        "storm": snapshot.storm,
        "groups": groups,
        "incidents": [s.as_json() for s in ClaimStorm.objects.filter(queue=definition.name)[:10]],
    }
