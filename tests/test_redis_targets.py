"""The fixtures a ``runs_on("single", "cluster")`` test gets reach the target its id names:
the single server, or the 3-master cluster with the queue on the master named."""

from __future__ import annotations

import pytest
import redis
from redis.cluster import RedisCluster

from queues import Manager, Producer
from queues.keys import queue_keys


@pytest.mark.runs_on("single", "cluster")
def test_url_client_and_queue_reach_the_target_the_id_names(
    request: pytest.FixtureRequest,
    redis_target: str,
    redis_url: str,
    redis_client: redis.Redis | RedisCluster,
    queue_name: str,
) -> None:
    on_cluster = redis_target.startswith("cluster")
    assert request.node.callspec.id == redis_target
    assert (request.node.get_closest_marker("cluster") is not None) is on_cluster
    assert redis_url.startswith("redis+cluster://") is on_cluster
    assert isinstance(redis_client, RedisCluster) is on_cluster
    entry = Producer(queue_name, redis=redis_url).publish({"n": 1})
    assert redis_client.xrange(queue_keys(queue_name).stream)[0][0].decode() == entry
    assert Manager(redis=redis_url).info(queue_name).length == 1
    if on_cluster:
        cluster = request.getfixturevalue("redis_cluster")
        master = cluster.nodes[int(redis_target.removeprefix("cluster-master"))]
        assert cluster.node_of(queue_keys(queue_name).stream) == master


@pytest.mark.runs_on("single", "cluster")
def test_a_test_without_a_queue_runs_once_on_the_cluster(redis_target: str, redis_url: str) -> None:
    assert redis_target in {"single", "cluster"}
    assert redis_url.startswith("redis+cluster://") is (redis_target == "cluster")


def test_an_unmarked_test_stays_on_the_single_server(redis_target: str, redis_url: str) -> None:
    assert redis_target == "single" and redis_url.startswith("redis://")
