"""Numbers that do not contradict each other (issue 16): parked retries counted visibly, and
alerts of a group that no longer exists resolved."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from django.contrib.auth.models import Permission
from django.test import Client

from alerts.models import Alert
from dashboard.catalog.models import QueueDefinition, Threshold
from dashboard.monitor.engine import Monitor
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import reset_managers
from queues.keys import RETRY_CONSUMER
from tests.support.queue_data import create_group, publish, read, stream_key

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


def _client(django_user_model, name: str, *perms: str) -> Client:
    user = django_user_model.objects.create_user(name, password="pw-for-tests-1")
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    c = Client()
    c.force_login(user)
    return c


def test_groups_outside_the_watch_list_are_named_and_one_click_watches_them(
    django_user_model, redis_url, queue_name
):
    QueueDefinition.objects.create(name="orders", queue=queue_name, groups=["billing"])
    publish(redis_url, queue_name, [{"n": 1}])
    create_group(redis_url, queue_name, "billing")
    create_group(redis_url, queue_name, "mail")
    monitor = Monitor(lease=Lease(ttl=5), name="solo")
    monitor.cycle()
    snap = monitor.latest["orders"]
    assert [g.name for g in snap.groups] == ["billing"]
    assert snap.unwatched_groups == ("mail",)
    viewer = _client(django_user_model, "viewer")
    assert viewer.get("/api/queues/orders/").json()["snapshot"]["unwatched_groups"] == ["mail"]
    assert "Not watched" in viewer.get("/queues/orders/").content.decode()

    body = json.dumps({"group": "mail"})
    refused = viewer.post("/api/queues/orders/groups/watch/", body, content_type="application/json")
    assert refused.status_code == 403
    operator = _client(django_user_model, "operator", "operate_queue")
    watched = operator.post(
        "/api/queues/orders/groups/watch/", body, content_type="application/json"
    )
    assert watched.status_code == 200
    assert QueueDefinition.objects.get(name="orders").groups == ["billing", "mail"]
    detail = viewer.get("/api/queues/orders/").json()["snapshot"]
    assert sorted(g["name"] for g in detail["groups"]) == ["billing", "mail"]
    assert detail["unwatched_groups"] == []


def test_a_group_created_from_the_page_is_watched_not_filtered_out(
    django_user_model, redis_url, queue_name
):
    QueueDefinition.objects.create(name="orders", queue=queue_name, groups=["billing"])
    publish(redis_url, queue_name, [{"n": 1}])
    create_group(redis_url, queue_name, "billing")
    operator = _client(django_user_model, "operator", "operate_queue")
    created = operator.post(
        "/api/queues/orders/groups/",
        json.dumps({"group": "audit", "start": "0"}),
        content_type="application/json",
    )
    assert created.status_code == 200
    detail = operator.get("/api/queues/orders/").json()["snapshot"]
    assert sorted(g["name"] for g in detail["groups"]) == ["audit", "billing"]


def test_set_id_dollar_keeps_the_lag_countable(django_user_model, redis_url, queue_name):
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    publish(redis_url, queue_name, [{"n": i} for i in range(8)])
    create_group(redis_url, queue_name, "billing", start="0")
    operator = _client(django_user_model, "operator", "operate_queue")
    moved = operator.post(
        "/api/queues/orders/groups/set-id/",
        json.dumps({"group": "billing", "id": "$"}),
        content_type="application/json",
    )
    assert moved.status_code == 200, moved.content
    (group,) = operator.get("/api/queues/orders/").json()["snapshot"]["groups"]
    assert group["lag"] == 0  # not "–": nothing undelivered, and Redis can say so
    publish(redis_url, queue_name, [{"n": 9}, {"n": 10}])
    (group,) = operator.get("/api/queues/orders/").json()["snapshot"]["groups"]
    assert group["lag"] == 2
    assert group["oldest_undelivered_ms"] is not None
