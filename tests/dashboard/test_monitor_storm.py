"""An incident (every consumer gone at once) is cheap for the monitor: status alerts are
opened and resolved in bulk, pushed live in one message, and the cycle reports its phases."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import Alert, AlertState
from dashboard.catalog.models import QueueDefinition, Threshold
from dashboard.consumers import LIVE_GROUP
from dashboard.models import MonitorState
from dashboard.monitor.engine import Monitor
from dashboard.monitor.library import reset_managers
from dashboard.monitor.phases import PHASES
from tests.support.queue_data import create_group, publish

pytestmark = pytest.mark.django_db(transaction=True)

QUEUES = 30
GROUPS = 2
#: Per queue: its threshold alert, and per group a threshold and a trend alert.
ALERTS = QUEUES * (1 + 2 * GROUPS)


@pytest.fixture(autouse=True)
def _fresh(settings) -> Iterator[None]:
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    reset_managers()
    yield
    reset_managers()


def _received(layer: Any, channel: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    async def drain() -> None:
        while True:
            try:
                out.append(await asyncio.wait_for(layer.receive(channel), 0.5))
            except TimeoutError:
                return

    async_to_sync(drain)()
    return out


def _alert_writes(queries: CaptureQueriesContext) -> int:
    return sum(
        1
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE")) and "alerts_alert" in q["sql"]
    )


def test_a_storm_of_status_alerts_costs_a_few_queries_and_one_live_message(
    redis_url: str, queue_name: str
) -> None:
    for i in range(QUEUES):
        name = f"{queue_name}-{i}"
        publish(redis_url, name, [{"n": 1}, {"n": 2}, {"n": 3}])
        for g in range(GROUPS):
            create_group(redis_url, name, f"g{g}")
        definition = QueueDefinition.objects.create(name=f"q{i}", queue=name)
        Threshold.objects.create(queue=definition, lag_warn=1, lag_alert=2)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(LIVE_GROUP, channel)
    monitor = Monitor()
    try:
        with CaptureQueriesContext(connection) as opened:
            monitor.cycle()
        assert Alert.objects.filter(state=AlertState.OPEN).count() == ALERTS
        # Bulk: one statement per batch of rows (SQLite caps parameters at 999), not per alert.
        assert _alert_writes(opened) <= 5
        alert_messages = [m for m in _received(layer, channel) if "alert" in m["type"]]
        assert [m["type"] for m in alert_messages] == ["alerts.update"]
        assert alert_messages[0]["data"]["count"] == ALERTS

        for threshold in Threshold.objects.all():  # saved one by one, as the admin does
            threshold.lag_warn, threshold.lag_alert = 1000, 2000
            threshold.active_consumers_warn = threshold.active_consumers_alert = -1
            threshold.save()
        with CaptureQueriesContext(connection) as resolved:
            monitor.cycle()
        assert Alert.objects.filter(state=AlertState.OPEN, kind="threshold").count() == 0
        assert _alert_writes(resolved) <= 5
    finally:
        monitor.shutdown()


def test_the_cycle_reports_its_phases_in_the_api_and_metrics(
    redis_url: str, queue_name: str, client, django_user_model
) -> None:
    publish(redis_url, queue_name, [{"n": 1}])
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    monitor = Monitor()
    try:
        monitor.cycle()
    finally:
        monitor.shutdown()

    state = MonitorState.objects.get(key="monitor")
    assert set(state.phases) == set(PHASES) and state.phases["poll"] > 0
    assert state.cycle_ms >= sum(state.phases.values()) * 0.99
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-x-1234567"))
    data = client.get("/api/monitor/").json()
    assert set(data["phases"]) == set(PHASES) and data["cycle_ms"] > 0
    assert data["cycles"] == 1 and "poll_ms" in data and "last_cycle_at" in data
    metrics = client.get("/metrics").content.decode()
    assert 'streamwarden_monitor_phase_seconds{phase="poll"}' in metrics
    assert "streamwarden_monitor_cycle_seconds" in metrics
    page = client.get("/").content.decode()
    assert "cycle" in page and "database" in page
