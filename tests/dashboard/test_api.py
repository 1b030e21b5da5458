"""The JSON API and pages: data, permissions (403 + button absent), CSRF, tokens, audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from dashboard.catalog.models import QueueDefinition
from dashboard.models import ApiToken, AuditLog, MetricSnapshot
from dashboard.monitor.library import reset_managers
from tests.support.queue_data import create_group, monitor_cycle, publish, read, stream_key

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_managers():
    reset_managers()
    yield
    reset_managers()


@pytest.fixture
def queue(redis_url, queue_name):
    publish(redis_url, queue_name, [{"n": i} for i in range(5)])
    create_group(redis_url, queue_name, "billing")
    read(redis_url, queue_name, "billing", "worker-1", 2)
    return QueueDefinition.objects.create(name="orders", queue=queue_name)


def _user(django_user_model, name, *perms):
    user = django_user_model.objects.create_user(name, password="pw-for-tests-1")
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def viewer(client, django_user_model):
    client.force_login(_user(django_user_model, "viewer"))
    return client


@pytest.fixture
def operator(django_user_model):
    c = Client()
    c.force_login(_user(django_user_model, "operator", "operate_queue", "destroy_queue"))
    return c


def test_queue_list_and_detail_show_live_numbers(viewer, queue):
    data = viewer.get("/api/queues/").json()
    (row,) = data["queues"]
    assert row["name"] == "orders" and row["snapshot"]["length"] == 5
    detail = viewer.get("/api/queues/orders/").json()
    (group,) = detail["snapshot"]["groups"]
    assert (group["name"], group["lag"], group["pending"]) == ("billing", 3, 2)
    pending = viewer.get("/api/queues/orders/pending/?group=billing").json()["pending"]
    assert len(pending) == 2 and pending[0]["deliveries"] == 1
    assert viewer.get("/api/queues/nope/").status_code == 404


def test_a_message_stuck_at_a_priority_level_shows_in_the_api_and_on_the_page(
    viewer, queue, redis_url, queue_name
):
    from queues import Producer

    urgent = Producer(queue_name, redis=redis_url, priority=2)
    urgent.publish_many([{"urgent": i} for i in range(4)])  # nobody reads level 2
    urgent.close()
    detail = viewer.get("/api/queues/orders/").json()["snapshot"]
    assert (detail["length"], detail["levels"]) == (9, [2])
    (group,) = detail["groups"]
    assert (group["lag"], group["pending"]) == (3 + 4, 2)
    page = viewer.get("/queues/orders/").content.decode()
    assert "Priority levels <strong>0, 2</strong>" in page


def test_a_user_without_permission_gets_403_and_no_destructive_buttons(viewer, queue, redis_client):
    for path, body in [
        ("/api/queues/orders/purge/", {}),
        ("/api/queues/orders/trim/", {}),
        ("/api/queues/orders/groups/delete/", {"group": "billing"}),
        ("/api/queues/orders/groups/", {"group": "x"}),
        ("/api/queues/orders/dead-letters/delete/", {"ids": "all"}),
    ]:
        response = viewer.post(path, json.dumps(body), content_type="application/json")
        assert response.status_code == 403, path
    assert redis_client.xlen(stream_key(queue.queue)) == 5
    assert AuditLog.objects.filter(ok=False, username="viewer").count() == 5
    page = viewer.get("/queues/orders/").content.decode()
    assert 'id="purge"' not in page and 'id="trim"' not in page
    assert '"canDestroy": false' in page


def test_an_operator_purges_with_an_audit_entry_and_sees_the_buttons(operator, queue, redis_client):
    page = operator.get("/queues/orders/").content.decode()
    assert 'id="purge"' in page and 'id="trim"' in page
    response = operator.post("/api/queues/orders/purge/", "{}", content_type="application/json")
    assert response.status_code == 200, response.content
    assert redis_client.xlen(stream_key(queue.queue)) == 0
    entry = AuditLog.objects.get(action="queue.purge")
    assert entry.username == "operator" and entry.ok and entry.target == "orders"


def test_operator_creates_a_group_and_sets_its_id(operator, queue, redis_client):
    ok = operator.post(
        "/api/queues/orders/groups/",
        {"group": "audit", "start": "0"},
        content_type="application/json",
    )
    assert ok.status_code == 200, ok.content
    groups = {g["name"].decode() for g in redis_client.xinfo_groups(stream_key(queue.queue))}
    assert groups == {"billing", "audit"}
    bad = operator.post(
        "/api/queues/orders/groups/set-id/",
        {"group": "audit", "id": "nonsense"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "id" in bad.json()["fields"]


def test_session_writes_need_the_csrf_token(django_user_model, queue):
    c = Client(enforce_csrf_checks=True)
    c.force_login(_user(django_user_model, "op", "destroy_queue"))
    response = c.post("/api/queues/orders/purge/", "{}", content_type="application/json")
    assert response.status_code == 403 and response.json()["error"] == "CSRF check failed"


def test_token_auth_reads_and_is_forbidden_without_permission(django_user_model, queue):
    user = _user(django_user_model, "robot")
    _, key = ApiToken.issue(user=user, name="ci")
    c = Client()
    assert c.get("/api/queues/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    assert c.get("/api/queues/", HTTP_AUTHORIZATION="Token wrong").status_code == 401
    response = c.post("/api/queues/orders/purge/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 403


# the monitor's cycle closes the DB connection: a transactional test
@pytest.mark.django_db(transaction=True)
def test_metrics_are_prometheus_text_per_queue_and_group(viewer, queue):
    monitor_cycle()
    response = viewer.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert response["Content-Type"].startswith("text/plain")
    assert 'streamwarden_queue_length{queue="orders"} 5.0' in text
    assert 'streamwarden_group_lag{group="billing",queue="orders"} 3.0' in text
    assert 'streamwarden_group_pending{group="billing",queue="orders"} 2.0' in text
    assert "# TYPE streamwarden_group_status gauge" in text


# the monitor's cycle closes the DB connection: a transactional test
@pytest.mark.django_db(transaction=True)
def test_duplicate_deliveries_per_group_show_in_the_api_and_metrics(
    viewer, queue, redis_client, queue_name
):
    from queues.keys import queue_keys

    # what consumers count when they skip a message already processed (effectively once)
    redis_client.hincrby(queue_keys(queue_name).duplicates, "billing", 4)
    (group,) = viewer.get("/api/queues/orders/").json()["snapshot"]["groups"]
    assert group["duplicates"] == 4
    monitor_cycle()
    text = viewer.get("/metrics").content.decode()
    assert 'streamwarden_group_duplicate_deliveries{group="billing",queue="orders"} 4.0' in text


def test_a_foreign_duplicates_key_never_breaks_the_queue_page(
    viewer, queue, redis_client, queue_name
):
    from queues.keys import queue_keys

    redis_client.set(queue_keys(queue_name).duplicates, "not a hash")
    detail = viewer.get("/api/queues/orders/").json()
    (group,) = detail["snapshot"]["groups"]
    assert group["duplicates"] == 0 and detail["snapshot"]["length"] == 5
    redis_client.delete(queue_keys(queue_name).duplicates)
    redis_client.hset(queue_keys(queue_name).duplicates, mapping={"billing": "x\n\0"})
    (group,) = viewer.get("/api/queues/orders/").json()["snapshot"]["groups"]
    assert group["duplicates"] == 0


def test_history_returns_points_of_the_range(viewer, queue):
    now = datetime.now(UTC)
    MetricSnapshot.objects.bulk_create(
        [
            MetricSnapshot(queue="orders", at=now - timedelta(seconds=s), length=s)
            for s in (10, 200, 4000)
        ]
    )
    points = viewer.get("/api/queues/orders/history/?range=5m").json()["points"]
    assert [p["length"] for p in points] == [200, 10]
    assert len(viewer.get("/api/queues/orders/history/?range=1h").json()["points"]) == 2


def test_overview_page_lists_queues_with_escaped_names(viewer, redis_url):
    QueueDefinition.objects.create(name="<b>evil", queue="evil")
    page = viewer.get("/").content.decode()
    assert "&lt;b&gt;evil" in page and "<b>evil" not in page
