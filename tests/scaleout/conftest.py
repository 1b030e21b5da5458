"""Fixtures of the scale-out tests: a real 3-master Redis Cluster and a real Sentinel set.

``redis_url`` and ``redis_client`` are overridden in this package to point at the cluster,
and ``queue_name`` is parametrised so that every test using it runs once per master (the
queue's hash tag lands on that master). The library's own tests are collected here again
unchanged (tests/scaleout/test_cluster_core.py imports them).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from redis.cluster import RedisCluster

# The library tests' fixtures, so their test functions run here unchanged.
from tests.queues.conftest import manager, producer, recorder, runner  # noqa: F401
from tests.support.redis_cluster import RedisClusterFixture
from tests.support.redis_sentinel import RedisSentinelFixture


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterFixture]:
    """Three masters on loopback, 16384 slots split between them; torn down after the
    session whatever happens."""
    cluster = RedisClusterFixture(masters=3).start()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def redis_url(redis_cluster: RedisClusterFixture) -> str:
    """``redis+cluster://`` URL of the cluster, emptied before the test."""
    redis_cluster.flush()
    return redis_cluster.url


@pytest.fixture
def redis_client(redis_url: str, redis_cluster: RedisClusterFixture) -> Iterator[RedisCluster]:
    client = redis_cluster.client()
    yield client
    client.close()


@pytest.fixture(params=[0, 1, 2], ids=["master0", "master1", "master2"])
def queue_name(request: pytest.FixtureRequest, redis_cluster: RedisClusterFixture) -> str:
    """A fresh queue name whose keys live on master 0, 1 or 2 (one run per master)."""
    node = redis_cluster.nodes[request.param]
    name = redis_cluster.key_on(node, f"q-{uuid.uuid4().hex[:8]}")
    assert redis_cluster.node_of(f"sw:{{{name}}}:stream") == node
    return name


@pytest.fixture(scope="session")
def redis_sentinel() -> Iterator[RedisSentinelFixture]:
    """One master, one replica, three Sentinels (quorum 2); torn down after the session."""
    sentinel = RedisSentinelFixture().start()
    try:
        yield sentinel
    finally:
        sentinel.close()
