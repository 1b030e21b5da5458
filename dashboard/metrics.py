"""Prometheus exposition of the monitor's stored view, through ``prometheus_client``.

A scrape reads the database only (the monitor's ``QueueState`` rows, its ``MonitorState``
and the alert counts): never Redis, so scrapes cost the same however often they come and
however many Prometheus servers send them, and a Redis outage is reported, not waited on.
Queues the monitor has not stored yet are absent until its first cycle covers them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db.models import Count
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from dashboard.catalog.models import QueueDefinition
from dashboard.models import QueueState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATUS_VALUE = {"ok": 0, "warn": 1, "alert": 2}
TREND_VALUE = {"OK": 0, "WARN": 1, "STALL": 2, "STOP": 3, "REWIND": 4}


@dataclass(frozen=True)
class StoredView:
    """What one scrape exposes, read once from the database."""

    queues: list[tuple[str, dict[str, Any]]]  # (display name, QueueState.data)
    monitor: Mapping[str, Any]
    #: alerts recorded, per (kind, severity)
    alerts: dict[tuple[str, str], int] = field(default_factory=dict)
    #: claimed events per (queue, group), dead-lettered events per queue
    claims: dict[tuple[str, str], int] = field(default_factory=dict)
    dead_lettered: dict[str, int] = field(default_factory=dict)


def stored_view(monitor: Mapping[str, Any]) -> StoredView:
    """Every enabled queue's stored state and the alert counts: a few queries, no Redis."""
    names = list(QueueDefinition.objects.filter(enabled=True).values_list("name", flat=True))
    data = dict(QueueState.objects.filter(queue__in=names).values_list("queue", "data"))
    view = StoredView([(n, data[n]) for n in names if n in data], monitor)
    if not apps.is_installed("alerts"):  # a dashboard without the alerts app: no counts
        return view
    # Kept rows plus the retired ones (deleted by the retention, or a status alert moved on
    # to another severity): counters that drop read to Prometheus as resets.
    alert = apps.get_model("alerts", "Alert").objects.order_by()
    retired = apps.get_model("alerts", "RetiredAlertCount").objects.order_by()
    per_queue = ("claimed", "dead_lettered")
    others = alert.exclude(kind__in=per_queue).values_list("kind", "severity")
    rows = [(kind, severity, "", "", n) for kind, severity, n in others.annotate(n=Count("id"))]
    rows += (
        alert.filter(kind__in=per_queue)
        .values_list("kind", "severity", "queue", "group")
        .annotate(n=Count("id"))
    )
    rows += retired.values_list("kind", "severity", "queue", "group", "count")
    for kind, severity, queue, group, n in rows:
        view.alerts[(kind, severity)] = view.alerts.get((kind, severity), 0) + n
        if kind == "claimed":
            view.claims[(queue, group)] = view.claims.get((queue, group), 0) + n
        elif kind == "dead_lettered":
            view.dead_lettered[queue] = view.dead_lettered.get(queue, 0) + n
    return view


class _Families:
    """Metric families by name, created on first use so each keeps one HELP and TYPE."""

    def __init__(self) -> None:
        self.by_name: dict[str, Metric] = {}

    def gauge(self, name: str, doc: str, labels: dict[str, str], value: float | None) -> None:
        if value is None:
            return
        family = self.by_name.get(name)
        if family is None:
            family = self.by_name[name] = GaugeMetricFamily(name, doc, labels=list(labels))
        family.add_metric(list(labels.values()), value)  # type: ignore[attr-defined]

    def counter(self, name: str, doc: str, labels: dict[str, str], value: float | None) -> None:
        if value is None:
            return
        family = self.by_name.get(name)
        if family is None:
            # prometheus_client appends "_total" to a counter family's samples.
            family = self.by_name[name] = CounterMetricFamily(name, doc, labels=list(labels))
        family.add_metric(list(labels.values()), value)  # type: ignore[attr-defined]


def _seconds(ms: Any) -> float | None:
    return None if ms is None else float(ms) / 1000


class StoredViewCollector(Collector):
    """A custom collector: the gauges and counters of one ``StoredView``."""

    def __init__(self, view: StoredView) -> None:
        self.view = view

    def collect(self) -> Iterator[Metric]:
        f = _Families()
        for name, s in self.view.queues:
            self._queue(f, name, s)
        self._monitor(f, self.view.monitor)
        for (kind, severity), n in sorted(self.view.alerts.items()):
            f.counter(
                "streamwarden_alerts",
                "Alerts recorded, by kind and severity (a status alert counts once at each severity it reaches)",
                {"kind": kind, "severity": severity},
                n,
            )
        yield from f.by_name.values()

    def _queue(self, f: _Families, name: str, s: dict[str, Any]) -> None:
        q = {"queue": name}
        f.gauge(
            "streamwarden_queue_up",
            "1 if the queue could be read",
            q,
            0 if s.get("unreadable") else 1,
        )
        f.gauge("streamwarden_queue_length", "Entries in the stream", q, s.get("length"))
        f.gauge(
            "streamwarden_queue_dead_letters",
            "Entries in the dead-letter stream",
            q,
            s.get("dead_letters"),
        )
        f.gauge(
            "streamwarden_queue_status",
            "Threshold status 0 ok, 1 warn, 2 alert",
            q,
            STATUS_VALUE.get(s.get("status", "ok"), 2),
        )
        f.counter(
            "streamwarden_stream_entries_added",
            "Entries ever added to the stream (XINFO STREAM entries-added)",
            q,
            s.get("entries_added"),
        )
        if not s.get("plain"):
            f.counter(
                "streamwarden_dead_letters",
                "Messages dead-lettered (library events recorded as alerts)",
                q,
                self.view.dead_lettered.get(name, 0),
            )
        f.gauge(
            "streamwarden_queue_groups_omitted",
            "Groups beyond STREAMWARDEN_MAX_GROUPS, not exported per group",
            q,
            s.get("groups_omitted", 0),
        )
        for g in s.get("groups") or ():
            self._group(f, name, g)

    def _group(self, f: _Families, queue: str, g: dict[str, Any]) -> None:
        gl = {"queue": queue, "group": str(g.get("name", ""))}
        f.gauge(
            "streamwarden_group_up",
            "1 if the group could be read",
            gl,
            0 if g.get("unreadable") else 1,
        )
        f.gauge("streamwarden_group_lag", "Undelivered entries of the group", gl, g.get("lag"))
        f.gauge(
            "streamwarden_group_pending", "Delivered, unacknowledged entries", gl, g.get("pending")
        )
        f.gauge("streamwarden_group_consumers", "Consumers of the group", gl, g.get("consumers"))
        f.gauge(
            "streamwarden_group_active_consumers",
            "Consumers seen recently",
            gl,
            g.get("active_consumers"),
        )
        f.gauge(
            "streamwarden_group_oldest_pending_seconds",
            "Age of the oldest pending entry",
            gl,
            _seconds(g.get("oldest_pending_ms")),
        )
        f.gauge(
            "streamwarden_group_oldest_undelivered_seconds",
            "Age of the oldest undelivered entry",
            gl,
            _seconds(g.get("oldest_undelivered_ms")),
        )
        f.gauge(
            "streamwarden_group_duplicate_deliveries",
            "Deliveries not run again: already processed or running elsewhere",
            gl,
            g.get("duplicates", 0),
        )
        f.gauge(
            "streamwarden_group_status",
            "Threshold status 0 ok, 1 warn, 2 alert",
            gl,
            STATUS_VALUE.get(g.get("status", "ok"), 2),
        )
        f.gauge(
            "streamwarden_group_trend",
            "Trend 0 OK, 1 WARN, 2 STALL, 3 STOP, 4 REWIND",
            gl,
            TREND_VALUE.get(g.get("trend", "OK"), 0),
        )
        f.counter(
            "streamwarden_group_entries_read",
            "Entries ever read by the group (XINFO GROUPS entries-read)",
            gl,
            g.get("entries_read"),
        )
        f.counter(
            "streamwarden_claims",
            "Messages claimed from another consumer (library events recorded as alerts)",
            gl,
            self.view.claims.get((queue, gl["group"]), 0),
        )

    def _monitor(self, f: _Families, monitor: Mapping[str, Any]) -> None:
        f.gauge(
            "streamwarden_monitor_up",
            "1 if the monitor completed a cycle lately (the figures here are current)",
            {},
            0 if monitor.get("stale", True) else 1,
        )
        f.gauge(
            "streamwarden_monitor_poll_commands",
            "Redis commands of the last poll",
            {},
            monitor.get("poll_commands"),
        )
        for kind, count in (monitor.get("poll_queues") or {}).items():
            f.gauge(
                "streamwarden_monitor_poll_queues",
                "Queues of the last poll: checked for changes, changed, read in full",
                {"kind": str(kind)},
                count,
            )
        f.gauge(
            "streamwarden_monitor_poll_seconds",
            "Duration of the last poll",
            {},
            _seconds(monitor.get("poll_ms")),
        )
        f.gauge(
            "streamwarden_monitor_cycle_seconds",
            "Duration of the last full monitor cycle",
            {},
            _seconds(monitor.get("cycle_ms")),
        )
        for phase, ms in (monitor.get("phases") or {}).items():
            f.gauge(
                "streamwarden_monitor_phase_seconds",
                "Duration of one phase of the last monitor cycle",
                {"phase": str(phase)},
                _seconds(ms),
            )
        redis_ok = monitor.get("redis_ok")
        f.gauge(
            "streamwarden_monitor_redis_up",
            "1 if the monitor reaches Redis",
            {},
            None if redis_ok is None else int(bool(redis_ok)),
        )


def render_metrics(view: StoredView) -> bytes:
    """The text exposition of one stored view."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoredViewCollector(view))
    return generate_latest(registry)
