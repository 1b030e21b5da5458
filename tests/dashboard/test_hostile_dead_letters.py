"""A dead letter whose payload no decoder can read still shows in the API and on the page."""

from __future__ import annotations

import pytest
import redis

from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.library import reset_managers
from queues import Consumer
from queues.keys import queue_keys

pytestmark = pytest.mark.django_db

NESTED = "[" * 1000 + "]" * 1000


@pytest.fixture(autouse=True)
def _fresh_managers():
    reset_managers()
    yield
    reset_managers()


def test_a_deeply_nested_json_dead_letter_is_listed_with_its_raw_payload(
    client, django_user_model, redis_url, queue_name
):
    server = redis.Redis.from_url(redis_url)
    entry_id = server.xadd(
        queue_keys(queue_name).stream, {"payload": NESTED, "ctype": "json"}
    ).decode()
    server.close()
    consumer = Consumer(queue_name, "g", lambda m: None, redis_url, block_ms=100)
    consumer.run(burst=True)
    consumer.close()
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    client.force_login(_reader(django_user_model))

    response = client.get("/api/queues/orders/dead-letters/")
    assert response.status_code == 200
    (letter,) = response.json()["dead_letters"]
    assert letter["reason"] == "undecodable"
    assert letter["payload"].startswith("[[[[")
    page = client.get("/queues/orders/")
    assert page.status_code == 200
    assert letter["id"] and entry_id


def test_the_dead_letter_api_answers_for_an_undecodable_payload_already_stored(
    client, django_user_model, redis_url, queue_name
):
    server = redis.Redis.from_url(redis_url)
    server.xadd(
        queue_keys(queue_name).dead,
        {
            "payload": NESTED,
            "ctype": "json",
            "headers": '{"h":' + NESTED + "}",
            "reason": "undecodable",
            "error": "payload is not valid JSON",
            "deliveries": "1",
            "original_id": "1-0",
            "group": "g",
            "consumer": "c",
            "failed_at": "1",
        },
    )
    server.close()
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    client.force_login(_reader(django_user_model))

    response = client.get("/api/queues/orders/dead-letters/")
    assert response.status_code == 200
    (letter,) = response.json()["dead_letters"]
    assert letter["payload"].startswith("[[[[")


def _reader(django_user_model):
    """A user allowed to read payloads (the view_payloads permission)."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("viewer", password="pw-for-tests-1")
    user.user_permissions.add(Permission.objects.get(codename="view_payloads"))
    return user
