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
from dashboard.catalog.models import QueueDefinition, Threshold
from dashboard.consumers import LIVE_GROUP
from dashboard.models import QueueState
from dashboard.monitor.engine import Monitor
from dashboard.monitor.library import reset_managers
from queues.keys import queue_keys
from tests.support.claims import claim_all, kill_consumer_holding, publish
from tests.support.redis_process import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh(settings) -> Iterator[None]:
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    settings.STREAMWARDEN_ACTIVE_IDLE = 5
    reset_managers()
    yield
    reset_managers()


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


def test_definitions_that_bypassed_validation_cost_their_own_row(
    redis_url: str, queue_name: str, client, django_user_model
) -> None:
    """A staff typo saved without full_clean (shell, bulk import): no scheme in the Redis
    URL, braces in the queue name. The overview, the API and the monitor still answer."""
    publish(redis_url, queue_name, 2)
    QueueDefinition.objects.create(name="healthy", queue=queue_name)
    QueueDefinition.objects.create(name="no-scheme", queue=queue_name, redis_url="localhost:6379")
    QueueDefinition.objects.create(name="braces", queue="a{b}")
    monitor = Monitor()
    try:
        monitor.cycle()
    finally:
        monitor.shutdown()
    assert monitor.latest["healthy"].length == 2
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-x-1234567"))
    for path in ("/", "/api/queues/", "/metrics"):
        response = client.get(path)
        assert response.status_code == 200, path
    rows = {q["name"]: q for q in client.get("/api/queues/").json()["queues"]}
    assert rows["healthy"]["snapshot"]["length"] == 2
    assert "unreadable" in str(rows["braces"]) and "unreadable" in str(rows["no-scheme"])


def test_clean_refuses_a_redis_url_without_scheme_and_a_queue_name_with_braces() -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as url:
        QueueDefinition(name="a", redis_url="localhost:6379").full_clean()
    assert "redis_url" in url.value.message_dict
    with pytest.raises(ValidationError) as name:
        QueueDefinition(name="b", queue="a{b}").full_clean()
    assert "queue" in name.value.message_dict
    with pytest.raises(ValidationError) as display:
        QueueDefinition(name="c{d}").full_clean()
    assert "queue" in display.value.message_dict or "name" in display.value.message_dict
    QueueDefinition(name="fine", redis_url="redis://127.0.0.1:6379/0").full_clean()


def test_groups_and_consumers_beyond_the_caps_are_counted_not_listed(
    redis_url: str, queue_name: str, settings, client, django_user_model
) -> None:
    settings.STREAMWARDEN_MAX_GROUPS = 3
    settings.STREAMWARDEN_MAX_CONSUMERS = 2
    raw = redis.Redis.from_url(redis_url)
    publish(redis_url, queue_name, 10)
    stream = queue_keys(queue_name).stream
    for g in range(5):
        raw.xgroup_create(stream, f"g{g}", id="0")
    for c in range(4):
        raw.xreadgroup("g0", f"c{c}", {stream: ">"}, count=1)
    QueueDefinition.objects.create(name="crowded", queue=queue_name)
    monitor = Monitor()
    try:
        monitor.cycle()
    finally:
        monitor.shutdown()

    data = QueueState.objects.get(queue="crowded").data
    assert len(data["groups"]) == 3 and data["groups_omitted"] == 2
    g0 = next(g for g in data["groups"] if g["name"] == "g0")
    assert g0["consumers"] == 4 and len(g0["consumer_list"]) == 2
    assert g0["consumers_omitted"] == 2
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-x-1234567"))
    text = client.get("/metrics").content.decode()
    assert 'streamwarden_queue_groups_omitted{queue="crowded"} 2' in text
    lags = [x for x in text.splitlines() if x.startswith("streamwarden_group_lag{")]
    assert sum('queue="crowded"' in x for x in lags) == 3
    assert "2 more groups are not shown" in client.get("/queues/crowded/").content.decode()


def test_a_huge_error_is_stored_and_sent_cut(redis_url: str, queue_name: str, settings) -> None:
    settings.STREAMWARDEN_MAX_DETAIL_CHARS = 1000
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    ingest.ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m")
    redis.Redis.from_url(redis_url).xadd(
        queue_keys(queue_name).events,
        {
            "type": "dead_lettered",
            "queue": queue_name,
            "group": "g",
            "id": "1-1",
            "error": "E" * 1_000_000,
            "traceback": "T" * 1_000_000,
        },
    )
    ingest.ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m")
    details = Alert.objects.get(kind=AlertKind.DEAD_LETTERED).details
    assert len(details["error"]) == 1000 and len(details["traceback"]) == 1000


def test_a_group_name_with_a_newline_is_emailed(redis_url: str, queue_name: str, settings) -> None:
    """A newline in a header raised BadHeaderError: every email for the group failed."""
    from django.core import mail

    from alerts.models import NotificationChannel, NotificationDelivery
    from alerts.notifier import Notifier

    publish(redis_url, queue_name, 3)
    redis.Redis.from_url(redis_url).xgroup_create(
        queue_keys(queue_name).stream, "bill\r\nBcc: x@evil.example", id="0"
    )
    definition = QueueDefinition.objects.create(name="orders", queue=queue_name)
    Threshold.objects.create(queue=definition, lag_warn=1, lag_alert=2)
    NotificationChannel.objects.create(
        name="ops", backend="alerts.backends.email.EmailBackend", emails="ops@example.com"
    )
    monitor = Monitor()
    try:
        monitor.cycle()
    finally:
        monitor.shutdown()
    notifier = Notifier(name="n", concurrency=1, handle_signals=False)
    try:
        notifier.drain()
    finally:
        notifier.consumer.close()
    assert NotificationDelivery.objects.exists()
    assert not NotificationDelivery.objects.filter(ok=False).exists()
    assert mail.outbox and all("\n" not in m.subject for m in mail.outbox)
    assert all(m.bcc == [] for m in mail.outbox)
