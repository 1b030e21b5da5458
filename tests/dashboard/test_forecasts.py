"""Time to breach and time to drain, from the monitor's rates, on the API and the pages."""

from __future__ import annotations

import re

import pytest

from dashboard.catalog.models import QueueDefinition, Threshold
from dashboard.monitor.engine import Monitor
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import reset_managers
from tests.dashboard.helpers import create_group, publish, read

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    reset_managers()
    yield
    reset_managers()


def test_a_filling_queue_forecasts_its_breach_and_a_caught_up_one_shows_drained(
    client, django_user_model, redis_url, queue_name
):
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-tests-1"))
    queue = QueueDefinition.objects.create(name="orders", queue=queue_name)
    Threshold.objects.create(queue=queue, lag_warn=500, lag_alert=1000)
    publish(redis_url, queue_name, [{"n": i} for i in range(10)])
    create_group(redis_url, queue_name, "billing")
    read(redis_url, queue_name, "billing", "worker-1", 1)
    monitor = Monitor(lease=Lease(ttl=5), name="solo")
    monitor.cycle()
    publish(redis_url, queue_name, [{"n": i} for i in range(100)])  # in, nothing out
    monitor.cycle()

    snap = monitor.latest["orders"]
    (group,) = snap.groups
    assert group.lag == 109 and snap.rate_in and snap.rate_in > 0
    assert group.breach_seconds is not None and group.breach_seconds > 0
    assert snap.breach_seconds == group.breach_seconds
    assert group.drain_seconds is None and snap.drain_seconds is None  # not at these rates

    # The overview and the API show the forecasts the monitor made.
    row = client.get("/api/queues/").json()["queues"][0]["snapshot"]
    assert row["breach_seconds"] == pytest.approx(snap.breach_seconds, rel=0.2)
    page = client.get("/").content.decode()
    shown = re.search(r'data-field="breach_seconds" data-seconds="([0-9.]+)"', page)
    assert shown and float(shown.group(1)) > 0

    read(redis_url, queue_name, "billing", "worker-1", 200)  # caught up
    monitor.cycle()
    assert monitor.latest["orders"].drain_seconds == 0.0
    detail = client.get("/api/queues/orders/").json()["snapshot"]
    assert detail["drain_seconds"] == 0.0 and detail["groups"][0]["drain_seconds"] == 0.0
    assert 'id="queue-drain"' in client.get("/queues/orders/").content.decode()
