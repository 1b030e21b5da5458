"""Action flags and targets are parsed strictly (issue 15, item 8): "false" means false, a
flag that is neither true nor false is refused, and a destructive "all" happens only when the
request says "all" — a missing or empty ``ids`` is an error, not every dead letter."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.library import reset_managers
from tests.support.queue_data import create_group, dead_letter, publish, read

pytestmark = pytest.mark.django_db

WORKER = {"group": "billing", "consumer": "worker-1"}


@pytest.fixture(autouse=True)
def _fresh_managers():
    reset_managers()
    yield
    reset_managers()


@pytest.fixture
def queue(redis_url, queue_name):
    publish(redis_url, queue_name, [{"n": i} for i in range(3)])
    create_group(redis_url, queue_name, "billing")
    read(redis_url, queue_name, "billing", "worker-1", 2)  # worker-1 holds 2 pending
    for n in range(2):
        dead_letter(redis_url, queue_name, {"dead": n})
    return QueueDefinition.objects.create(name="orders", queue=queue_name)


@pytest.fixture
def ops(django_user_model) -> Client:
    user = django_user_model.objects.create_user("ops", password="pw-for-tests-1")
    for codename in ("operate_queue", "destroy_queue"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, path: str, body: dict, *, form: bool = False):
    if form:
        return client.post(path, body)
    return client.post(path, json.dumps(body), content_type="application/json")


def _consumers(redis_client, queue) -> set[str]:
    stream = f"sw:{{{queue.queue}}}:stream"
    return {c["name"].decode() for c in redis_client.xinfo_consumers(stream, "billing")}


def _dead(redis_client, queue) -> int:
    return redis_client.xlen(f"sw:{{{queue.queue}}}:dead")


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_force_false_does_not_delete_a_consumer_that_holds_pending_entries(
    ops, queue, redis_client, form
):
    url = "/api/queues/orders/consumers/delete/"
    response = _post(ops, url, {**WORKER, "force": "false"}, form=form)
    assert response.status_code == 409, response.content
    assert "worker-1" in _consumers(redis_client, queue)


@pytest.mark.parametrize("value", ["maybe", "2", "", [], {"a": 1}])
def test_a_flag_that_is_neither_true_nor_false_is_refused(ops, queue, redis_client, value):
    url = "/api/queues/orders/consumers/delete/"
    response = _post(ops, url, {**WORKER, "force": value})
    assert response.status_code == 400 and "force" in response.json()["fields"]
    assert "worker-1" in _consumers(redis_client, queue)
    purge = _post(ops, "/api/queues/orders/purge/", {"dead": value})
    assert purge.status_code == 400 and "dead" in purge.json()["fields"]
    assert _dead(redis_client, queue) == 2


@pytest.mark.parametrize("value", [True, "true", "1", "yes", "on", 1])
def test_force_true_in_any_usual_spelling_deletes_the_consumer(ops, queue, redis_client, value):
    url = "/api/queues/orders/consumers/delete/"
    response = _post(ops, url, {**WORKER, "force": value, "confirm": "orders"})
    assert response.status_code == 200, response.content
    assert "worker-1" not in _consumers(redis_client, queue)


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_dead_false_on_purge_keeps_the_dead_letters(ops, queue, redis_client, form):
    response = _post(ops, "/api/queues/orders/purge/", {"dead": "false"}, form=form)
    assert response.status_code == 200, response.content
    assert _dead(redis_client, queue) == 2


@pytest.mark.parametrize("action", ["delete", "replay"])
@pytest.mark.parametrize("body", [{}, {"ids": ""}, {"ids": []}, {"ids": None}, {"ids": "ALL"}])
def test_a_missing_or_empty_ids_is_refused_not_read_as_all(ops, queue, redis_client, action, body):
    response = _post(ops, f"/api/queues/orders/dead-letters/{action}/", body)
    assert response.status_code == 400 and "ids" in response.json()["fields"]
    assert _dead(redis_client, queue) == 2


def test_every_dead_letter_goes_only_when_the_request_says_all(ops, queue, redis_client):
    response = _post(ops, "/api/queues/orders/dead-letters/delete/", {"ids": "all"})
    assert response.status_code == 200, response.content
    assert _dead(redis_client, queue) == 0


def test_form_posts_may_list_several_ids(ops, queue, redis_client):
    ids = [i.decode() for i, _ in redis_client.xrange(f"sw:{{{queue.queue}}}:dead")]
    response = ops.post("/api/queues/orders/dead-letters/delete/", {"ids": ids})
    assert response.status_code == 200, response.content
    assert _dead(redis_client, queue) == 0
