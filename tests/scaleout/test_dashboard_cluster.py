"""The dashboard's monitor polls queues on a Redis Cluster: a queue definition whose
redis_url is ``redis+cluster://...`` is read on the master that holds it, in pipelines that
redis-py splits per node."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dashboard.catalog.models import QueueDefinition
from dashboard.models import MetricSnapshot
from dashboard.monitor.engine import Monitor
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import manager_for, reset_managers
from dashboard.monitor.poller import Target, poll
from dashboard.sealed_layer import layer_settings
from queues import Manager, Producer
from queues.keys import queue_keys
from tests.support.redis_cluster import RedisClusterFixture
from tests.support.redis_process import RedisServer

pytestmark = pytest.mark.runs_on("cluster")


@pytest.fixture(autouse=True)
def _fresh_managers(settings, redis_server: RedisServer) -> Iterator[None]:
    """The dashboard's own Redis (lease, channel layer) stays a single server."""
    if not redis_server.running:
        redis_server.start()
    redis_server.client().flushall()
    settings.REDIS_URL = redis_server.url
    settings.CHANNEL_LAYERS = layer_settings(
        redis_server.url, settings.SECRET_KEY, prefix="sw-test"
    )
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    reset_managers()
    yield
    reset_managers()


def _queues_on_every_master(cluster: RedisClusterFixture, url: str) -> list[str]:
    names = [cluster.key_on(node, f"dash{i}") for i, node in enumerate(cluster.nodes)]
    manager = Manager(redis=url)
    for lag, name in enumerate(names, start=1):
        Producer(name, redis=url).publish_many(list(range(10)))
        manager.create_group(name, "billing", start="0")
        manager.client.xreadgroup(
            "billing", "worker", {queue_keys(name).stream: ">"}, count=10 - lag
        )
    return names


def test_poll_reads_queues_on_every_master_and_counts_its_commands(
    redis_cluster: RedisClusterFixture, redis_url: str
) -> None:
    names = _queues_on_every_master(redis_cluster, redis_url)
    targets = [Target(f"def-{n}", n, redis_url) for n in names]

    result = poll(targets, manager_for=manager_for)

    assert result.unreachable == {}
    by_queue = {s.queue: s for s in result.snapshots}
    for lag, name in enumerate(names, start=1):
        snap = by_queue[name]
        assert snap.exists and snap.length == 10
        (group,) = snap.groups
        assert (group.name, group.lag, group.pending, group.consumers) == (
            "billing",
            lag,
            10 - lag,
            1,
        )
    assert result.cost.commands > 0


def test_an_unreachable_cluster_is_reported_not_raised() -> None:
    url = "redis+cluster://127.0.0.1:1"
    result = poll([Target("gone", "gone", url)], manager_for=manager_for)
    assert url in result.unreachable
    assert result.snapshots[0].error


@pytest.mark.django_db(transaction=True)
def test_the_monitor_stores_snapshots_of_a_queue_definition_on_a_cluster(
    redis_cluster: RedisClusterFixture, redis_url: str, redis_server: RedisServer
) -> None:
    names = _queues_on_every_master(redis_cluster, redis_url)
    for name in names:
        QueueDefinition.objects.create(name=f"def-{name}", queue=name, redis_url=redis_url)

    monitor = Monitor(lease=Lease(ttl=5))
    monitor.cycle()

    assert sorted(monitor.latest) == sorted(f"def-{n}" for n in names)
    rows = {r.queue: r for r in MetricSnapshot.objects.all()}
    assert [(rows[f"def-{n}"].length, rows[f"def-{n}"].lag) for n in names] == [
        (10, 1),
        (10, 2),
        (10, 3),
    ]
