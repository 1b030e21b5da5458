"""The trend on the real monitor: a steady climb warns with its evidence, a near-empty group
does not (issue 16). Short windows here; tests/bench/trend.py measures the defaults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from alerts.models import Alert
from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.engine import Monitor
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import reset_managers
from tests.support.queue_data import ack_all, create_group, publish, read
from tests.support.redis_process import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _short_trend(settings) -> Iterator[None]:
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    settings.STREAMWARDEN_ACTIVE_IDLE = 30
    settings.STREAMWARDEN_TREND_WINDOW = 1.0
    settings.STREAMWARDEN_TREND_FOR = 0.3
    settings.STREAMWARDEN_TREND_MIN_GROWTH = 20
    reset_managers()
    yield
    reset_managers()


def test_a_steady_climb_warns_with_its_slope_and_a_near_empty_group_stays_ok(
    redis_url: str, queue_name: str
) -> None:
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    create_group(redis_url, queue_name, "slow", start="$")
    create_group(redis_url, queue_name, "fast", start="$")
    monitor = Monitor(lease=Lease(ttl=5), name="solo")
    fast_states: list[str] = []

    def step() -> bool:
        publish(redis_url, queue_name, [{"n": i} for i in range(10)])
        read(redis_url, queue_name, "slow", "w1", 5)  # half of what comes in: climbs 5/step
        read(redis_url, queue_name, "fast", "w1", 100)  # all of it: lag 0 after each read
        ack_all(redis_url, queue_name, "fast")
        monitor.cycle()
        groups = {g.name: g for g in monitor.latest["orders"].groups}
        fast_states.append(groups["fast"].trend)
        return groups["slow"].trend == "WARN"

    wait_for(step, timeout=20, interval=0.05, message="the climbing group warns")
    groups = {g.name: g for g in monitor.latest["orders"].groups}
    slow = groups["slow"]
    assert slow.trend_slope is not None and slow.trend_slope > 0
    assert slow.trend_window_s is not None and 0.5 <= slow.trend_window_s <= 1.0
    data = {g["name"]: g for g in monitor.latest["orders"].as_json()["groups"]}
    assert data["slow"]["trend_slope"] == slow.trend_slope  # the page shows the evidence
    assert set(fast_states) == {"OK"}
    assert Alert.objects.filter(kind="trend", group="slow", state="open").count() == 1
    assert not Alert.objects.filter(kind="trend", group="fast").exists()
