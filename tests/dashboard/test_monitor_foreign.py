"""One watched Redis full of bad objects: the healthy queues stay monitored, the bad ones say
why they cannot be read (fault isolation per Redis, per queue, per group)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from alerts import ingest
from alerts.models import Alert, AlertKind
from dashboard.consumers import LIVE_GROUP
from dashboard.models import QueueState
from dashboard.monitor.engine import Monitor
from dashboard.monitor.library import reset_managers
from queues.keys import queue_keys
from queues.models import QueueDefinition, Threshold
from tests.alerts.claims import claim_all, kill_consumer_holding, publish
from tests.redis_process import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh(settings) -> Iterator[None]:
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    settings.STREAMWARDEN_ACTIVE_IDLE = 5
    reset_managers()
    ingest.reset_managers()
    yield
    reset_managers()
    ingest.reset_managers()


HUGE = "h" * 100_000


def _seed_bad_objects(client: redis.Redis, base: str, url: str) -> dict[str, str]:
    """Every bad object a client that can write queue keys can make; display name -> queue."""
    names = {
        "dead-wrong-type": f"{base}-dead",
        "stream-wrong-type": f"{base}-stream",
        "levels-garbage": f"{base}-levels",
        "hostile-groups": f"{base}-groups",
        "flapping": f"{base}-flap",
    }
    for queue in names.values():
        publish(url, queue, 2)
    client.delete(queue_keys(names["dead-wrong-type"]).dead)
    client.set(queue_keys(names["dead-wrong-type"]).dead, "x")
    client.delete(queue_keys(names["stream-wrong-type"]).stream)
    client.set(queue_keys(names["stream-wrong-type"]).stream, "x")
    client.sadd(queue_keys(names["levels-garbage"]).levels, "garbage", "-1", "99999999999")
    stream = queue_keys(names["hostile-groups"]).stream
    for group in (b"\xff\xfe not utf-8", "nul\x00group", "new\nline", HUGE):
        client.xgroup_create(stream, group, id="0")
    return names


def _flap(client: redis.Redis, queue: str, stop: threading.Event) -> None:
    """Delete and recreate a group and the whole stream while the monitor reads them."""
    keys = queue_keys(queue)
    while not stop.is_set():
        client.xadd(keys.stream, {"n": "1"})
        for group in ("a", "b"):
            with contextlib.suppress(redis.ResponseError):
                client.xgroup_create(keys.stream, group, id="0")
        client.xgroup_destroy(keys.stream, "a")
        client.delete(keys.stream)


def _live_messages(layer: Any, channel: str) -> list[dict[str, Any]]:
    out = []

    async def drain() -> None:
        import asyncio

        while True:
            try:
                out.append(await asyncio.wait_for(layer.receive(channel), 0.5))
            except TimeoutError:
                return

    async_to_sync(drain)()
    return out


def test_bad_objects_cost_their_own_row_and_the_healthy_queue_keeps_everything(
    redis_url: str, queue_name: str, client, django_user_model
) -> None:
    raw = redis.Redis.from_url(redis_url)
    healthy = f"{queue_name}-ok"
    publish(redis_url, healthy, 5)
    kill_consumer_holding(redis_url, healthy, "billing", 5)
    claim_all(redis_url, healthy, "billing")
    publish(redis_url, healthy, 5)  # undelivered: a lag over the threshold below
    definition = QueueDefinition.objects.create(name="healthy", queue=healthy)
    Threshold.objects.create(queue=definition, lag_warn=1, lag_alert=2)
    bad = _seed_bad_objects(raw, queue_name, redis_url)
    for name, queue in bad.items():
        QueueDefinition.objects.create(name=name, queue=queue)
    # A hostile event next to the healthy ones (binary field name, NUL, huge group name).
    raw.xadd(
        queue_keys(healthy).events,
        {"type": "claimed", "queue": healthy, "group": HUGE, "id": "9" * 100, b"\xff": "a\x00"},
    )
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(LIVE_GROUP, channel)
    stop = threading.Event()
    flapper = threading.Thread(target=_flap, args=(raw, bad["flapping"], stop), daemon=True)
    flapper.start()
    monitor = Monitor()
    try:
        for _ in range(5):
            monitor.cycle()
    finally:
        stop.set()
        flapper.join(timeout=5)
        monitor.shutdown()

    assert monitor.polled_cycles == 5
    states = dict(QueueState.objects.values_list("queue", "data"))
    ok = states["healthy"]
    assert not ok["unreadable"] and ok["length"] == 10 and ok["lag"] == 5
    assert [g["name"] for g in ok["groups"]] == ["billing"]
    for name in ("dead-wrong-type", "stream-wrong-type"):
        assert (
            states[name]["unreadable"].startswith("unreadable: ")
            and "WRONGTYPE" in (states[name]["unreadable"])
        )
    assert not states["levels-garbage"]["unreadable"] and states["levels-garbage"]["length"] == 2
    hostile = states["hostile-groups"]
    assert not hostile["unreadable"] and len(hostile["groups"]) == 4
    for group in hostile["groups"]:
        assert group["lag"] == 2 and not group["unreadable"]
        assert len(group["name"]) <= 200 and "\x00" not in group["name"]
        assert "\n" not in group["name"]
    # Claim alerts of the healthy queue (and the hostile event, cleaned) were ingested.
    claimed = Alert.objects.filter(kind=AlertKind.CLAIMED, queue="healthy")
    assert claimed.count() == 6
    assert Alert.objects.filter(kind=AlertKind.THRESHOLD, queue="healthy").exists()
    # Live updates reached the browsers' group.
    updates = [m for m in _live_messages(layer, channel) if m["type"] == "queue.update"]
    assert any(q["name"] == "healthy" for m in updates for q in m["data"]["queues"])
    # Pages, API and /metrics answer, and say which queues are unreadable.
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-x-1234567"))
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    text = metrics.content.decode()
    assert 'streamwarden_queue_up{queue="healthy"} 1' in text
    assert 'streamwarden_queue_up{queue="dead-wrong-type"} 0' in text
    api = client.get("/api/queues/")
    assert api.status_code == 200
    page = client.get("/")
    assert page.status_code == 200
    assert "unreadable: " in page.content.decode()
    wait_for(lambda: not flapper.is_alive(), timeout=5)
