"""The overview reads the running monitor's stored view, and polls Redis only without it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard import selectors
from dashboard.catalog.models import QueueDefinition
from dashboard.models import MonitorState
from dashboard.monitor.counting import commands_so_far
from dashboard.monitor.engine import Monitor
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import reset_managers
from tests.support.queue_data import create_group, publish

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    reset_managers()
    yield
    reset_managers()


def _overview() -> tuple[dict[str, selectors.QueueRow], int]:
    before = commands_so_far()
    rows = selectors.queue_overview()
    return {r.name: r for r in rows}, commands_so_far() - before


def test_with_a_running_monitor_the_overview_sends_no_redis_command(redis_url, queue_name):
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    publish(redis_url, queue_name, [{"n": i} for i in range(3)])
    create_group(redis_url, queue_name, "billing")
    monitor = Monitor(lease=Lease(ttl=5), name="solo")
    monitor.cycle()

    rows, commands = _overview()
    assert commands == 0
    assert rows["orders"].source == "monitor" and rows["orders"].snapshot["length"] == 3
    assert rows["orders"].sparkline == [3]

    # Until the monitor's next poll the page shows its last view (the websocket brings
    # the next one); after that poll, the new numbers.
    publish(redis_url, queue_name, [{"n": 9}])
    assert _overview()[0]["orders"].snapshot["length"] == 3
    monitor.cycle()
    assert _overview()[0]["orders"].snapshot["length"] == 4

    # A queue defined since the monitor's last poll is polled live, and only it.
    QueueDefinition.objects.create(name="fresh", queue=f"{queue_name}-fresh")
    rows, commands = _overview()
    assert (rows["orders"].source, rows["fresh"].source) == ("monitor", "live")
    assert commands > 0


def test_without_a_running_monitor_or_with_redis_down_the_overview_polls_live(
    redis_url, queue_name
):
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    publish(redis_url, queue_name, [{"n": 1}])
    monitor = Monitor(lease=Lease(ttl=5), name="solo")
    monitor.cycle()
    publish(redis_url, queue_name, [{"n": 2}])

    MonitorState.objects.update(last_cycle_at=datetime.now(UTC) - timedelta(minutes=5))
    rows, commands = _overview()
    assert rows["orders"].source == "live" and rows["orders"].snapshot["length"] == 2
    assert commands > 0

    MonitorState.objects.update(last_cycle_at=datetime.now(UTC), redis_ok=False)
    assert _overview()[0]["orders"].source == "live"
