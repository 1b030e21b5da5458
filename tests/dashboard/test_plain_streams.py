"""The dashboard watches any Redis stream: a plain stream written and consumed only by
redis-cli (a foreign client) is polled by the monitor and shown by pages and the API;
what only StreamWarden queues have is "n/a", never 0."""

from __future__ import annotations

import pytest
import redis
from django.core.exceptions import ValidationError
from django.test import Client

from dashboard.catalog.models import QueueDefinition
from dashboard.models import MetricSnapshot, QueueState
from dashboard.monitor.engine import Monitor
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import reset_managers
from tests.support.queue_data import monitor_cycle
from tests.support.redis_cli import redis_cli

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_managers(settings):
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    reset_managers()
    yield
    reset_managers()


def xadd(url: str, key: str, *fields: str) -> str:
    return redis_cli(url, "XADD", key, "*", *fields).strip().strip('"')


@pytest.fixture
def orders(redis_url: str) -> QueueDefinition:
    """Stream "orders" the reference way (group order-processors, consumer worker1 holding
    two entries, one entry undelivered), adopted as a plain stream."""
    for n in range(3):
        xadd(redis_url, "orders", "orderId", str(n), "data", '{"total": 5}')
    redis_cli(redis_url, "XGROUP", "CREATE", "orders", "order-processors", "0")
    redis_cli(
        redis_url,
        "XREADGROUP",
        "GROUP",
        "order-processors",
        "worker1",
        "COUNT",
        "2",
        "STREAMS",
        "orders",
        ">",
    )
    definition = QueueDefinition(name="orders", stream="orders")
    definition.full_clean()
    definition.save()
    return definition


@pytest.fixture
def viewer(client, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("viewer", password="pw-1-tests")
    user.user_permissions.add(Permission.objects.get(codename="view_payloads"))  # entry values
    client.force_login(user)
    return client


def test_a_definition_watches_a_stream_key_or_a_queue_never_both() -> None:
    both = QueueDefinition(name="x", queue="x", stream="x")
    with pytest.raises(ValidationError, match="Leave the library queue name blank"):
        both.full_clean()
    assert QueueDefinition(name="y").stream == ""


@pytest.mark.django_db(transaction=True)
def test_the_monitor_polls_a_plain_stream_and_stores_no_false_zero(redis_url, orders):
    Monitor(lease=Lease(ttl=5)).cycle()
    row = MetricSnapshot.objects.get(queue="orders")
    assert (row.length, row.lag, row.pending, row.dead_letters) == (3, 1, 2, None)
    data = QueueState.objects.get(queue="orders").data
    assert data["plain"] is True and data["dead_letters"] is None
    [group] = data["groups"]
    assert (group["name"], group["lag"], group["pending"], group["duplicates"]) == (
        "order-processors",
        1,
        2,
        None,
    )
    # no library keys were created in the foreign Redis (events groups, registry)
    keys = sorted(k.decode() for k in redis.Redis.from_url(redis_url).keys("*"))
    assert keys == ["orders"]


# the monitor's cycle closes the DB connection: a transactional test
@pytest.mark.django_db(transaction=True)
def test_api_and_pages_show_a_plain_stream(redis_url, orders, viewer):
    data = viewer.get("/api/queues/orders/").json()
    snap = data["snapshot"]
    assert data["plain"] is True and snap["plain"] is True
    assert (snap["length"], snap["lag"], snap["pending"], snap["dead_letters"]) == (3, 1, 2, None)
    [group] = snap["groups"]
    assert [c["name"] for c in group["consumer_list"]] == ["worker1"]
    assert viewer.get("/api/queues/").json()["queues"][0]["snapshot"]["dead_letters"] is None
    assert viewer.get("/api/queues/orders/dead-letters/").json() == {"dead_letters": None}
    pending = viewer.get("/api/queues/orders/pending/?group=order-processors").json()
    assert [p["consumer"] for p in pending["pending"]] == ["worker1", "worker1"]

    page = viewer.get("/queues/orders/").content.decode()
    assert "Plain stream" in page and "n/a" in page
    home = viewer.get("/").content.decode()
    assert "n/a" in home and 'title="a plain stream' in home

    monitor_cycle()
    metrics = viewer.get("/metrics").content.decode()
    assert 'streamwarden_queue_length{queue="orders"} 3' in metrics
    assert 'streamwarden_queue_dead_letters{queue="orders"}' not in metrics


def test_actions_on_a_plain_stream_are_refused(redis_url, orders, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("op", password="pw-1-tests")
    for codename in ("operate_queue", "destroy_queue"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    answer = client.post("/api/queues/orders/purge/")
    assert answer.status_code == 409 and "watched read-only" in answer.json()["error"]
    assert redis.Redis.from_url(redis_url).xlen("orders") == 3
    page = client.get("/queues/orders/").content.decode()
    assert 'id="purge"' not in page


def test_entries_are_browsed_newest_first_in_pages_with_escaped_binary_fields(
    redis_url, orders, viewer
):
    redis_cli(redis_url, "XADD", "orders", "*", "blob", stdin=b"\x00\xff<script>x</script>\n")
    for n in range(30):
        xadd(redis_url, "orders", "n", str(n))
    first = viewer.get("/api/queues/orders/entries/").json()
    assert len(first["entries"]) == 25 and first["newer"] is None
    assert first["entries"][0]["fields"] == [{"name": "n", "value": "29"}]
    second = viewer.get(f"/api/queues/orders/entries/?before={first['older']}").json()
    ids = [e["id"] for e in first["entries"] + second["entries"]]
    assert len(ids) == 34 == len(set(ids)) and second["older"] is None
    blob = next(e for e in second["entries"] if e["fields"][0]["name"] == "blob")
    assert blob["fields"][0]["value"] == "\\x00\\xff<script>x</script>\\x0a"
    back = viewer.get(f"/api/queues/orders/entries/?after={second['newer']}").json()
    assert [e["id"] for e in back["entries"]] == ids[:25]

    found = viewer.get(f"/api/queues/orders/entries/?id={blob['id']}").json()
    assert [e["id"] for e in found["entries"]] == [blob["id"]]
    bad = viewer.get("/api/queues/orders/entries/?id=<x>")
    assert bad.status_code == 400

    page = viewer.get(f"/queues/orders/?entry={blob['id']}").content.decode()
    assert "&lt;script&gt;" in page and "<script>x" not in page


def test_a_plain_key_of_another_type_is_shown_unreadable(redis_url, viewer):
    redis_cli(redis_url, "SET", "not-a-stream", "1")
    QueueDefinition.objects.create(name="oops", stream="not-a-stream")
    snap = viewer.get("/api/queues/oops/").json()["snapshot"]
    assert "not a stream (WRONGTYPE)" in snap["unreadable"]


@pytest.mark.django_db(transaction=True)
def test_history_trim_risk_and_forecasts_work_for_a_plain_stream(redis_url, orders, viewer):
    monitor = Monitor(lease=Lease(ttl=5))
    monitor.cycle()
    xadd(redis_url, "orders", "orderId", "9")
    monitor.cycle()
    points = viewer.get("/api/queues/orders/history/?range=5m").json()["points"]
    assert [p["length"] for p in points] == [3, 4]
    # trimming to MAXLEN 1 would drop 2 pending entries and 1 undelivered one of the group
    risk = viewer.get("/api/queues/orders/trim-risk/?maxlen=1").json()
    assert risk["exists"] and risk["level"] == "alert" and risk["removes"] == 3
    assert risk["undelivered"] == 1
    snap = monitor.latest["orders"]
    assert snap.plain and snap.rate_in is not None and snap.groups[0].trend
