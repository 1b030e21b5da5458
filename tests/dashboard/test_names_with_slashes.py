"""Group and consumer names travel in the request body, never in the URL path (issue 15,
item 10): a group named ``billing/consumers/worker-1`` cannot route a delete to consumer
``worker-1`` of group ``billing``, names are used exactly as given (no trimming), and a queue
definition whose name holds ``/`` does not break the overview."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
import redis as redis_lib
from django.contrib.auth.models import Permission
from django.test import Client

from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.library import reset_managers
from tests.support.queue_data import create_group, publish, stream_key

pytestmark = pytest.mark.django_db

TRICK = "billing/consumers/worker-1"


@pytest.fixture(autouse=True)
def _fresh_managers():
    reset_managers()
    yield
    reset_managers()


@pytest.fixture
def queue(redis_url, queue_name):
    publish(redis_url, queue_name, [{"n": i} for i in range(3)])
    for group in ("billing", TRICK, " billing"):
        create_group(redis_url, queue_name, group)
    client = redis_lib.Redis.from_url(redis_url)
    client.xgroup_createconsumer(stream_key(queue_name), "billing", "worker-1")
    client.close()
    return QueueDefinition.objects.create(name="orders", queue=queue_name)


@pytest.fixture
def ops(django_user_model) -> Client:
    user = django_user_model.objects.create_user("ops", password="pw-for-tests-1")
    for codename in ("operate_queue", "destroy_queue"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def _groups(redis_client, queue) -> set[str]:
    return {g["name"].decode() for g in redis_client.xinfo_groups(stream_key(queue.queue))}


def _consumers(redis_client, queue, group: str) -> set[str]:
    return {
        c["name"].decode() for c in redis_client.xinfo_consumers(stream_key(queue.queue), group)
    }


def _post(client: Client, path: str, body: dict):
    return client.post(path, json.dumps(body), content_type="application/json")


def test_a_group_name_with_slashes_in_an_encoded_path_cannot_reach_another_endpoint(
    ops, queue, redis_client
):
    # What the page used to send: the name percent-encoded into the path, decoded by the server
    path = f"/api/queues/orders/groups/{quote(TRICK, safe='')}/delete/"
    response = _post(ops, path, {})
    assert "worker-1" in _consumers(redis_client, queue, "billing")
    assert response.status_code == 404
    assert _groups(redis_client, queue) == {"billing", TRICK, " billing"}


def test_a_group_named_with_slashes_is_deleted_by_name_in_the_body(ops, queue, redis_client):
    response = _post(ops, "/api/queues/orders/groups/delete/", {"group": TRICK})
    assert response.status_code == 200, response.content
    assert _groups(redis_client, queue) == {"billing", " billing"}
    assert "worker-1" in _consumers(redis_client, queue, "billing")


def test_names_are_used_exactly_as_given_never_trimmed(ops, queue, redis_client):
    response = _post(ops, "/api/queues/orders/groups/delete/", {"group": " billing"})
    assert response.status_code == 200, response.content
    assert _groups(redis_client, queue) == {"billing", TRICK}


def test_a_consumer_is_deleted_by_group_and_name_in_the_body(ops, queue, redis_client):
    response = _post(
        ops,
        "/api/queues/orders/consumers/delete/",
        {"group": "billing", "consumer": "worker-1", "force": False},
    )
    assert response.status_code == 200, response.content
    assert _consumers(redis_client, queue, "billing") == set()


def test_set_id_takes_the_group_from_the_body(ops, queue, redis_client):
    response = _post(ops, "/api/queues/orders/groups/set-id/", {"group": TRICK, "id": "0"})
    assert response.status_code == 200, response.content
    groups = {
        g["name"].decode(): g["last-delivered-id"].decode()
        for g in redis_client.xinfo_groups(stream_key(queue.queue))
    }
    assert groups[TRICK] == "0-0"


@pytest.mark.parametrize("body", [{}, {"group": ""}, {"group": 5}, {"group": ["billing"]}])
def test_a_missing_or_non_text_group_is_refused(ops, queue, redis_client, body):
    response = _post(ops, "/api/queues/orders/groups/delete/", body)
    assert response.status_code == 400 and "group" in response.json()["fields"]
    assert _groups(redis_client, queue) == {"billing", TRICK, " billing"}


def test_a_definition_whose_name_holds_a_slash_does_not_break_the_overview(ops, queue, redis_url):
    QueueDefinition.objects.create(name="eu/orders", queue=queue.queue)  # bypasses clean()
    page = ops.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-queue="eu/orders"' in html and 'href="/queues/orders/"' in html
    assert ops.get("/api/queues/").status_code == 200


def test_a_group_created_with_a_blank_start_starts_at_the_end(ops, queue, redis_client):
    response = _post(ops, "/api/queues/orders/groups/", {"group": "new/one", "start": ""})
    assert response.status_code == 200, response.content
    assert "new/one" in _groups(redis_client, queue)
