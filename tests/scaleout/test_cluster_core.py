"""The library on a 3-master Redis Cluster beyond its behaviour tests (those live in
tests/queues and run on the cluster too, marked ``runs_on("single", "cluster")``): queues spread over every
master, cluster URLs, ordered mode's lock on the queue's master. ``redis_url`` is a
``redis+cluster://`` URL and a test that takes ``queue_name`` runs once per master.
"""

from __future__ import annotations

import pytest
from redis.cluster import RedisCluster

from queues import Consumer, Manager, Message, Producer
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Recorder
from tests.support.redis_cluster import RedisClusterFixture

pytestmark = pytest.mark.runs_on("cluster")


def _one_queue_per_master(cluster: RedisClusterFixture, prefix: str) -> list[str]:
    names = [cluster.key_on(node, f"{prefix}{i}") for i, node in enumerate(cluster.nodes)]
    assert len({cluster.node_of(queue_keys(n).stream).node_id for n in names}) == 3
    return names


def test_the_registry_events_and_info_cover_queues_on_every_master(
    redis_url: str, redis_cluster: RedisClusterFixture, manager: Manager
) -> None:
    names = _one_queue_per_master(redis_cluster, "spread")
    for name in names:
        Producer(name, redis=redis_url).publish_many(["ok", "bad"])
        handler = Recorder()

        def handle(message, handler=handler):
            handler(message)
            if message.payload == "bad":
                raise RuntimeError("bad")

        Consumer(name, "g", handle, redis_url, max_deliveries=1, **FAST).run(burst=True)
    assert set(names) <= set(manager.queues())
    infos = manager.info_many(names)
    assert [(i.length, i.dead, i.group("g").pending) for i in infos] == [(2, 1, 0)] * 3
    dead = [(e.queue, e.type) for e in manager.events() if e.type == "dead_lettered"]
    assert sorted(dead) == sorted((n, "dead_lettered") for n in names)
    for name in names:
        assert manager.delete_queue(name)
    assert not set(names) & set(manager.queues())
    assert [i.exists for i in manager.info_many(names)] == [False] * 3


@pytest.mark.parametrize("url", ["redis+cluster://", "redis+cluster://127.0.0.1:1/3"])
def test_a_bad_cluster_url_names_the_expected_form(url: str) -> None:
    from queues import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"redis\+cluster://"):
        Producer("q", redis=url)


def test_ordered_mode_on_a_cluster_retries_in_order_and_releases_its_lock(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: RedisCluster,
) -> None:
    """Ordered mode's lock and takeover scripts run on the queue's master (the lock key
    shares the queue's hash tag)."""
    seen: list[tuple[int, int]] = []

    def flaky(message: Message) -> None:
        seen.append((message.payload, message.deliveries))
        if message.payload == 2 and message.deliveries < 3:
            raise RuntimeError("not yet")

    producer.publish_many([1, 2, 3, 4])
    Consumer(queue_name, "g", flaky, redis_url, ordered=True, backoff_base=0.05, **FAST).run(
        burst=True
    )
    assert seen == [(1, 1), (2, 1), (2, 2), (2, 3), (3, 2), (4, 2)]
    assert manager.info(queue_name).group("g").pending == 0
    assert not redis_client.exists(queue_keys(queue_name).ordered_lock("g"))
