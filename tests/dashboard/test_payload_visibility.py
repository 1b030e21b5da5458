"""Message payloads (often personal data) are shown only to users with the ``view_payloads``
permission (issue 15, item 13): without it dead-letter payloads and plain-stream entry values
are hidden on the pages and in the API, for sessions and tokens alike."""

from __future__ import annotations

import json

import pytest
import redis as redis_lib
from django.contrib.auth.models import Permission
from django.test import Client

from dashboard.catalog.models import QueueDefinition
from dashboard.models import ApiToken
from dashboard.monitor.library import reset_managers
from tests.support.queue_data import dead_letter, publish, stream_key

pytestmark = pytest.mark.django_db

SECRET = "jane.doe@example.com card 4111111111111111"


@pytest.fixture(autouse=True)
def _fresh_managers():
    reset_managers()
    yield
    reset_managers()


@pytest.fixture
def queues(redis_url, queue_name):
    publish(redis_url, queue_name, [{"customer": SECRET}])
    dead_letter(redis_url, queue_name, {"customer": SECRET})
    client = redis_lib.Redis.from_url(redis_url)
    client.xadd(f"{queue_name}-plain", {"customer": SECRET})
    # one pending entry in each: pending lists show payloads too
    for key in (stream_key(queue_name), f"{queue_name}-plain"):
        client.xgroup_create(key, "billing", id="0")
        client.xreadgroup("billing", "worker-1", {key: ">"}, count=1)
    client.close()
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    QueueDefinition.objects.create(name="events", stream=f"{queue_name}-plain")


def _user(django_user_model, name: str, *perms: str):
    user = django_user_model.objects.create_user(name, password="pw-for-tests-1")
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def _session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


READS = [
    "/api/queues/orders/dead-letters/",
    "/api/queues/events/entries/",
    "/api/queues/orders/pending/?group=billing",
    "/api/queues/events/pending/?group=billing",
    "/queues/orders/",
    "/queues/events/",
]


@pytest.mark.parametrize("path", READS)
def test_without_view_payloads_no_payload_is_shown(django_user_model, queues, path):
    # operate/destroy rights do not include reading the data
    ops = _session(_user(django_user_model, "ops", "operate_queue", "destroy_queue"))
    response = ops.get(path)
    assert response.status_code == 200
    assert SECRET not in response.content.decode()
    assert "jane.doe" not in response.content.decode()


def test_without_view_payloads_a_token_sees_no_payload(django_user_model, queues):
    _, key = ApiToken.issue(user=_user(django_user_model, "robot"), name="ci")
    for path in READS[:2]:
        response = Client().get(path, HTTP_AUTHORIZATION=f"Token {key}")
        assert response.status_code == 200
        assert SECRET not in response.content.decode()


def test_the_api_says_the_payload_is_hidden(django_user_model, queues):
    viewer = _session(_user(django_user_model, "viewer"))
    (letter,) = viewer.get("/api/queues/orders/dead-letters/").json()["dead_letters"]
    assert letter["payload"] is None and letter["payload_hidden"] is True
    assert letter["reason"] == "max_deliveries"  # what is not data stays visible
    (entry,) = viewer.get("/api/queues/events/entries/").json()["entries"]
    assert entry["fields"] == [{"name": "customer", "value": None}]
    assert entry["hidden"] is True
    for queue in ("orders", "events"):
        (pending,) = viewer.get(f"/api/queues/{queue}/pending/?group=billing").json()["pending"]
        assert pending["payload"] is None and pending["payload_hidden"] is True
        assert pending["consumer"] == "worker-1"


def test_pending_payloads_are_the_message_text(django_user_model, queues):
    reader = _session(_user(django_user_model, "reader", "view_payloads"))
    (pending,) = reader.get("/api/queues/orders/pending/?group=billing").json()["pending"]
    assert json.loads(pending["payload"]) == {"customer": SECRET}
    assert pending["payload_hidden"] is False
    (plain,) = reader.get("/api/queues/events/pending/?group=billing").json()["pending"]
    assert json.loads(plain["payload"]) == {"customer": SECRET}  # a plain entry's fields


@pytest.mark.parametrize("path", READS)
def test_with_view_payloads_the_payload_is_shown(django_user_model, queues, path):
    reader = _session(_user(django_user_model, "reader", "view_payloads"))
    response = reader.get(path)
    assert response.status_code == 200
    if path.startswith("/queues/orders/"):
        return  # the queue page loads dead letters from the API (checked above)
    assert SECRET in response.content.decode()
