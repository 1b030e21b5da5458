"""Where is message X now? (issue 17): an alert's link to a claimed message says whether it
is pending (group, owner, deliveries), acknowledged, dead-lettered or gone."""

from __future__ import annotations

import pytest
from django.test import Client

from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.library import reset_managers
from tests.dashboard.test_dead_letter_paging import fill_dead_letters
from tests.support.queue_data import ack_all, create_group, publish, read, stream_key

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_managers():
    reset_managers()
    yield
    reset_managers()


@pytest.fixture
def viewer(client, django_user_model) -> Client:
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-x-1234567"))
    return client


def _locate(viewer, entry_id: str):
    return viewer.get("/api/queues/orders/locate/", {"id": entry_id})


def test_a_pending_acknowledged_dead_lettered_or_gone_entry_is_located(
    viewer, redis_url, redis_client, queue_name
) -> None:
    ids = publish(redis_url, queue_name, [{"n": i} for i in range(3)])
    create_group(redis_url, queue_name, "billing")
    create_group(redis_url, queue_name, "audit")
    assert read(redis_url, queue_name, "billing", "worker-1", 3) == 3
    QueueDefinition.objects.create(name="orders", queue=queue_name)

    found = _locate(viewer, ids[1]).json()
    assert found["in_stream"] is True and found["dead_letter"] is None
    assert [(p["group"], p["consumer"], p["deliveries"]) for p in found["pending"]] == [
        ("billing", "worker-1", 1)
    ]
    ack_all(redis_url, queue_name, "billing")
    acked = _locate(viewer, ids[1]).json()
    assert acked["pending"] == [] and acked["in_stream"] is True
    redis_client.xdel(stream_key(queue_name), ids[1])
    assert _locate(viewer, ids[1]).json()["in_stream"] is False
    fill_dead_letters(redis_client, queue_name, 3)  # original ids 1000-0 .. 1000-2
    dead = _locate(viewer, "1000-2").json()
    assert dead["dead_letter"] is not None and dead["pending"] == []


@pytest.mark.parametrize("bad", ["", "x", "5", "1-0; FLUSHALL"])
def test_a_bad_id_is_refused(viewer, redis_url, queue_name, bad) -> None:
    publish(redis_url, queue_name, [{"n": 1}])
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    response = _locate(viewer, bad)
    assert response.status_code == 400 and "id" in response.json()["fields"]
