"""Alerts on a Redis Cluster and behind Sentinel: claims of queues on every master become one
claimed Alert row each through ``ingest_events`` with a ``redis+cluster://`` URL (events
streams on different masters, read per hash slot by the library), and the notifier delivers
over cluster and Sentinel URLs."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from alerts import outbox
from alerts.backends import locmem
from alerts.dispatch import dispatch_due
from alerts.ingest import GROUP, _store, events_key, ingest_events
from alerts.models import Alert, AlertKind, NotificationChannel
from alerts.notifier import Notifier
from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.engine import Monitor
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import reset_managers as reset_dashboard_managers
from dashboard.sealed_layer import layer_settings
from queues import Manager, Producer
from queues.connection import connect
from tests.support.claims import claim_all, kill_consumer_holding, publish
from tests.support.redis_cluster import RedisClusterFixture
from tests.support.redis_process import RedisServer
from tests.support.redis_sentinel import RedisSentinelFixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.runs_on("cluster")]


@pytest.fixture(autouse=True)
def _dashboard_redis(settings, redis_server: RedisServer) -> Iterator[None]:
    """The dashboard's own Redis (lease, channel layer) stays a single server."""
    if not redis_server.running:
        redis_server.start()
    redis_server.client().flushall()
    settings.REDIS_URL = redis_server.url
    settings.CHANNEL_LAYERS = layer_settings(
        redis_server.url, settings.SECRET_KEY, prefix="sw-test"
    )
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    settings.STREAMWARDEN_ALERTS_GROUP_WINDOW = 0
    locmem.outbox.clear()
    outbox.reset_producers()
    reset_dashboard_managers()
    yield
    outbox.reset_producers()
    reset_dashboard_managers()
    locmem.outbox.clear()


def _one_queue_per_master(cluster: RedisClusterFixture, prefix: str) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    names = [cluster.key_on(node, f"{prefix}{tag}{i}") for i, node in enumerate(cluster.nodes)]
    masters = {cluster.node_of(events_key(name)).node_id for name in names}
    assert len(masters) == len(cluster.nodes), "one events stream on every master"
    return names


def _claimed_events(url: str, queue: str, count: int, *, start: int = 0) -> None:
    client = connect(url)
    for n in range(start, start + count):
        client.xadd(
            events_key(queue),
            {"type": "claimed", "queue": queue, "group": "billing", "id": f"{n + 1}-0"},
        )
    client.close()


def _pending(url: str, queues: list[str]) -> int:
    client = connect(url)
    try:
        return sum(int(client.xpending(events_key(q), GROUP)["pending"]) for q in queues)
    finally:
        client.close()


def test_real_claims_on_every_master_become_one_claimed_alert_each(
    redis_cluster: RedisClusterFixture, redis_url: str
) -> None:
    names = _one_queue_per_master(redis_cluster, "claims")
    expected: dict[str, list[str]] = {}
    for name in names:
        ids = publish(redis_url, name, 5)
        kill_consumer_holding(redis_url, name, "billing", 5)
        assert sorted(claim_all(redis_url, name, "billing")) == sorted(ids)
        expected[name] = ids

    created = ingest_events(redis_url=redis_url, queues=names, consumer_name="monitor-1")

    assert created == 15
    for name, ids in expected.items():
        rows = Alert.objects.filter(queue=name)
        assert sorted(rows.values_list("message_id", flat=True)) == sorted(ids)
        assert set(rows.values_list("kind", "group")) == {(AlertKind.CLAIMED, "billing")}
    assert _pending(redis_url, names) == 0, "every event acknowledged after the commit"
    assert ingest_events(redis_url=redis_url, queues=names, consumer_name="monitor-1") == 0


def test_an_ingester_killed_mid_batch_on_a_cluster_duplicates_and_loses_nothing(
    redis_cluster: RedisClusterFixture, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = _one_queue_per_master(redis_cluster, "crash")
    for name in names:
        _claimed_events(redis_url, name, 10)
    manager = Manager(redis=redis_url)
    try:
        read = manager.read_events(names, GROUP, "monitor-old", count=100)
    finally:
        manager.close()
    assert len(read) == 30
    stored = _store(read[::2])  # committed, then SIGKILL before the ack
    assert stored == 15

    # The restarted monitor re-reads its own pending events at once ...
    assert ingest_events(redis_url=redis_url, queues=names, consumer_name="monitor-old") == 15
    assert Alert.objects.count() == 30
    assert Alert.objects.values("queue", "event_id").distinct().count() == 30
    assert _pending(redis_url, names) == 0

    # ... and another monitor takes over the pending events of one that never came back.
    for name in names:
        _claimed_events(redis_url, name, 4, start=100)
    manager = Manager(redis=redis_url)
    try:
        assert len(manager.read_events(names, GROUP, "monitor-gone", count=100)) == 12
    finally:
        manager.close()
    monkeypatch.setattr("alerts.ingest.TAKEOVER_IDLE_MS", 0)
    assert ingest_events(redis_url=redis_url, queues=names, consumer_name="monitor-new") == 12
    assert Alert.objects.count() == 42
    assert _pending(redis_url, names) == 0


def test_a_blocking_ingest_on_a_cluster_wakes_for_an_event_on_any_master(
    redis_cluster: RedisClusterFixture, redis_url: str
) -> None:
    names = _one_queue_per_master(redis_cluster, "block")
    assert ingest_events(redis_url=redis_url, queues=names, consumer_name="m") == 0
    timer = threading.Timer(0.3, _claimed_events, args=(redis_url, names[-1], 1))
    timer.start()
    started = time.monotonic()
    try:
        created = ingest_events(redis_url=redis_url, queues=names, consumer_name="m", block_ms=5000)
    finally:
        timer.join()
    assert created == 1
    assert 0.2 < time.monotonic() - started < 4.0
    assert Alert.objects.get().queue == names[-1]


def test_the_monitor_ingests_events_of_queue_definitions_on_a_cluster(
    redis_cluster: RedisClusterFixture, redis_url: str, redis_server: RedisServer
) -> None:
    names = _one_queue_per_master(redis_cluster, "mon")
    for i, name in enumerate(names):
        Producer(name, redis=redis_url).publish_many([1, 2])
        QueueDefinition.objects.create(name=f"def-{name}", queue=name, redis_url=redis_url)
        _claimed_events(redis_url, name, i + 1)

    Monitor(lease=Lease(ttl=5)).cycle()

    for i, name in enumerate(names):
        # named by the queue definition, as the status alerts and /queues/<name>/ are
        assert Alert.objects.filter(kind=AlertKind.CLAIMED, queue=f"def-{name}").count() == i + 1
    assert _pending(redis_url, names) == 0


def _notify(settings, url: str) -> list[locmem.LocmemMessage]:
    """Group the pending alerts and deliver them with a notifier whose notifications queue
    lives on ``url``: both ends go through the library (Producer / Consumer)."""
    settings.STREAMWARDEN_NOTIFICATIONS_REDIS_URL = url
    NotificationChannel.objects.create(name="mem", backend="alerts.backends.locmem.LocmemBackend")
    dispatch_due()
    consumer = Notifier(name="n", concurrency=1, handle_signals=False).consumer
    try:
        consumer.run(burst=True)
    finally:
        consumer.close()
    return list(locmem.outbox)


def test_the_notifier_delivers_over_a_cluster_url(
    settings, redis_cluster: RedisClusterFixture, redis_url: str
) -> None:
    (name, *_) = _one_queue_per_master(redis_cluster, "notify")
    _claimed_events(redis_url, name, 3)
    assert ingest_events(redis_url=redis_url, queues=[name], consumer_name="monitor") == 3

    (sent,) = _notify(settings, redis_url)

    assert (sent.payload["kind"], sent.payload["queue"], sent.payload["count"]) == (
        "claimed",
        name,
        3,
    )


@pytest.fixture
def sentinel_url(redis_sentinel: RedisSentinelFixture) -> str:
    redis_sentinel.wait_ready()
    redis_sentinel.flush()
    return redis_sentinel.url


def test_real_claims_behind_sentinel_are_ingested_and_notified(settings, sentinel_url: str) -> None:
    queue = f"q-{uuid.uuid4().hex[:10]}"
    ids = publish(sentinel_url, queue, 4)
    kill_consumer_holding(sentinel_url, queue, "billing", 4)
    assert sorted(claim_all(sentinel_url, queue, "billing")) == sorted(ids)

    assert ingest_events(redis_url=sentinel_url, queues=[queue], consumer_name="m") == 4
    rows = Alert.objects.filter(kind=AlertKind.CLAIMED, queue=queue)
    assert sorted(rows.values_list("message_id", flat=True)) == sorted(ids)
    assert _pending(sentinel_url, [queue]) == 0

    (sent,) = _notify(settings, sentinel_url)

    assert (sent.payload["kind"], sent.payload["queue"], sent.payload["count"]) == (
        "claimed",
        queue,
        4,
    )
