"""Deleting a consumer never silently drops its pending entries (issue 17): it is refused
with the count at that moment, its entries are handed to another consumer, or they are
dropped only when the queue's name is typed."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from dashboard.catalog.models import QueueDefinition
from dashboard.models import AuditLog
from dashboard.monitor.library import reset_managers
from tests.support.queue_data import create_group, publish, read, stream_key

pytestmark = pytest.mark.django_db

URL = "/api/queues/orders/consumers/delete/"
WORKER = {"group": "billing", "consumer": "worker-1"}


@pytest.fixture(autouse=True)
def _fresh_managers():
    reset_managers()
    yield
    reset_managers()


@pytest.fixture
def queue(redis_url, queue_name):
    publish(redis_url, queue_name, [{"n": i} for i in range(5)])
    create_group(redis_url, queue_name, "billing")
    read(redis_url, queue_name, "billing", "worker-1", 3)
    return QueueDefinition.objects.create(name="orders", queue=queue_name)


@pytest.fixture
def ops(django_user_model) -> Client:
    user = django_user_model.objects.create_user("ops", password="pw-for-tests-1")
    for codename in ("operate_queue", "destroy_queue"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, body: dict):
    return client.post(URL, json.dumps(body), content_type="application/json")


def _owners(redis_client, queue) -> dict[str, int]:
    summary = redis_client.xpending(stream_key(queue.queue), "billing")
    return {c["name"].decode(): c["pending"] for c in summary["consumers"]}


def test_a_consumer_with_pending_entries_is_refused_with_the_count_of_that_moment(
    ops, queue, redis_client, redis_url
):
    read(redis_url, queue.queue, "billing", "worker-1", 1)  # one more since any page loaded
    response = _post(ops, WORKER)
    assert response.status_code == 409
    assert response.json()["pending"] == 4 and "4 pending entries" in response.json()["error"]
    assert _owners(redis_client, queue) == {"worker-1": 4}


def test_force_without_the_typed_queue_name_drops_nothing(ops, queue, redis_client):
    response = _post(ops, {**WORKER, "force": True})
    assert response.status_code == 400
    assert "orders" in response.json()["fields"]["confirm"][0]
    assert _owners(redis_client, queue) == {"worker-1": 3}
    wrong = _post(ops, {**WORKER, "force": True, "confirm": "order"})
    assert wrong.status_code == 400 and _owners(redis_client, queue) == {"worker-1": 3}


def test_forced_drop_with_the_queue_name_states_the_loss(ops, queue, redis_client):
    response = _post(ops, {**WORKER, "force": True, "confirm": "orders"})
    assert response.status_code == 200 and response.json()["result"] == 3
    assert _owners(redis_client, queue) == {}


def test_a_hand_over_keeps_every_pending_entry_and_is_audited(ops, queue, redis_client):
    before = redis_client.xpending_range(stream_key(queue.queue), "billing", "-", "+", 10)
    response = _post(ops, {**WORKER, "hand_to": "worker-2"})
    assert response.status_code == 200 and response.json()["result"] == 3
    after = redis_client.xpending_range(stream_key(queue.queue), "billing", "-", "+", 10)
    assert [p["message_id"] for p in after] == [p["message_id"] for p in before]
    assert _owners(redis_client, queue) == {"worker-2": 3}
    entry = AuditLog.objects.get(action="consumer.delete")
    assert entry.ok and entry.details["hand_to"] == "worker-2" and entry.details["result"] == 3


@pytest.mark.parametrize("hand_to", ["worker-1", " spaced", "a\nb", 7])
def test_a_bad_hand_over_target_is_refused(ops, queue, redis_client, hand_to):
    response = _post(ops, {**WORKER, "hand_to": hand_to})
    assert response.status_code == 400 and "hand_to" in response.json()["fields"]
    assert _owners(redis_client, queue) == {"worker-1": 3}
