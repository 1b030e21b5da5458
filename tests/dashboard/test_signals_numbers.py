"""Numbers that do not contradict each other (issue 16): parked retries counted visibly, and
alerts of a group that no longer exists resolved."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from alerts.models import Alert
from dashboard.catalog.models import QueueDefinition, Threshold
from dashboard.monitor.engine import Monitor
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import reset_managers
from queues.keys import RETRY_CONSUMER
from tests.dashboard.helpers import create_group, publish, read, stream_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh(settings) -> Iterator[None]:
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    reset_managers()
    yield
    reset_managers()


def test_parked_retries_are_counted_in_pending_and_shown_on_their_own(
    client, django_user_model, redis_url, queue_name
):
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-tests-1"))
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    publish(redis_url, queue_name, [{"n": i} for i in range(5)])
    create_group(redis_url, queue_name, "billing")
    read(redis_url, queue_name, "billing", RETRY_CONSUMER, 2)  # how the library parks retries
    read(redis_url, queue_name, "billing", "worker-1", 1)
    monitor = Monitor(lease=Lease(ttl=5), name="solo")
    monitor.cycle()
    snap = monitor.latest["orders"]
    (group,) = snap.groups
    assert (group.pending, group.parked) == (3, 2)
    assert snap.parked == 2
    detail = client.get("/api/queues/orders/").json()["snapshot"]
    assert detail["parked"] == 2 and detail["groups"][0]["parked"] == 2
    page = client.get("/queues/orders/").content.decode()
    assert "Parked retries" in page and "age since publish" in page


def test_the_alerts_of_a_deleted_group_resolve(redis_url, queue_name):
    definition = QueueDefinition.objects.create(name="orders", queue=queue_name)
    Threshold.objects.create(queue=definition, active_consumers_alert=0)
    publish(redis_url, queue_name, [{"n": 1}])
    create_group(redis_url, queue_name, "billing")
    create_group(redis_url, queue_name, "mail")
    monitor = Monitor(lease=Lease(ttl=5), name="solo")
    monitor.cycle()
    billing = Alert.objects.get(kind="threshold", queue="orders", group="billing")
    assert billing.state == "open"

    redis.Redis.from_url(redis_url).xgroup_destroy(stream_key(queue_name), "billing")
    monitor.cycle()
    billing.refresh_from_db()
    assert billing.state == "resolved"
    mail = Alert.objects.get(kind="threshold", queue="orders", group="mail")
    assert mail.state == "open"  # the group still there keeps its alert
