"""The audit-log page: every operator action, filtered by user, action and queue."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.library import reset_managers
from tests.support.queue_data import create_group, publish

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_managers():
    reset_managers()
    yield
    reset_managers()


def _login(django_user_model, name: str, *perms: str) -> Client:
    user = django_user_model.objects.create_user(name, password="pw-for-tests-1")
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def actions(django_user_model, redis_url, queue_name):
    """Operator actions of two users on two queues, one of them refused."""
    for name in ("orders", "invoices"):
        publish(redis_url, f"{queue_name}-{name}", [{"n": 1}])
        create_group(redis_url, f"{queue_name}-{name}", "billing")
        QueueDefinition.objects.create(name=name, queue=f"{queue_name}-{name}")
    ops = _login(django_user_model, "ops", "operate_queue", "destroy_queue")
    viewer = _login(django_user_model, "viewer")
    assert (
        ops.post("/api/queues/orders/groups/", {"group": "audit", "start": "0"}).status_code == 200
    )
    assert ops.post("/api/queues/invoices/trim/").status_code == 200
    assert viewer.post("/api/queues/orders/purge/").status_code == 403
    from alerts.services import alert_acknowledge, record_event_alert

    alert, _ = record_event_alert(kind="claimed", queue="orders", event_id="1-0", message_id="9-0")
    alert_acknowledge(alert=alert, user=django_user_model.objects.get(username="ops"))
    return ops, viewer


def _rows(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('<tr data-action="')[1:]]


def test_the_audit_page_lists_every_action_and_filters_by_user_action_and_queue(actions):
    ops, _ = actions
    page = ops.get("/audit/")
    assert page.status_code == 200
    html = page.content.decode()
    assert _rows(html) == ["alert.acknowledge", "queue.purge", "queue.trim", "group.create"]
    assert "denied" in html and 'href="/audit/"' in html  # refused attempt; nav link

    assert _rows(ops.get("/audit/?user=viewer").content.decode()) == ["queue.purge"]
    assert _rows(ops.get("/audit/?action=queue.trim").content.decode()) == ["queue.trim"]
    orders = _rows(ops.get("/audit/?queue=orders").content.decode())
    assert orders == ["alert.acknowledge", "queue.purge", "group.create"]
    both = ops.get("/audit/?queue=orders&user=ops").content.decode()
    assert _rows(both) == ["alert.acknowledge", "group.create"]

    api = ops.get("/api/audit/?queue=invoices").json()["entries"]
    assert [(e["user"], e["action"], e["target"]) for e in api] == [
        ("ops", "queue.trim", "invoices")
    ]


def test_the_audit_page_needs_a_login(client):
    response = client.get("/audit/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get("/api/audit/").status_code == 401
