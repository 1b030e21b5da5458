"""Shared fixtures: real redis-server processes, never a fake.

``redis_url``, ``redis_client`` and ``queue_name`` point at one shared redis-server. A test
marked ``@pytest.mark.runs_on("single", "cluster")`` runs once per target instead: on the
single server, and on a real 3-master Redis Cluster, there once per master when it takes
``queue_name`` (the queue's hash tag lands on that master). The cluster runs carry the
``cluster`` mark (``-m 'not cluster'`` leaves them out). A test that opens ``redis.Redis``
on the URL itself, or counts commands with INFO (per node on a cluster), stays single.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from redis.cluster import RedisCluster

from dashboard.sealed_layer import layer_settings
from tests.support.redis_cluster import RedisClusterFixture
from tests.support.redis_process import RedisServer, wait_for

__all__ = ["wait_for"]

SINGLE = "single"
CLUSTER = "cluster"
MASTERS = 3


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``redis_target`` over the targets a ``runs_on`` mark names."""
    marker = metafunc.definition.get_closest_marker("runs_on")
    if marker is None or "redis_target" not in metafunc.fixturenames:
        return
    unknown = set(marker.args) - {SINGLE, CLUSTER}
    assert marker.args and not unknown, f"runs_on takes {SINGLE!r} and/or {CLUSTER!r}"
    targets: list[object] = []
    if SINGLE in marker.args:
        targets.append(SINGLE)
    if CLUSTER in marker.args:
        on_masters = "queue_name" in metafunc.fixturenames
        names = [f"{CLUSTER}-master{i}" for i in range(MASTERS)] if on_masters else [CLUSTER]
        targets += [pytest.param(name, marks=pytest.mark.cluster) for name in names]
    metafunc.parametrize("redis_target", targets, indirect=True)


@pytest.fixture
def redis_target(request: pytest.FixtureRequest) -> str:
    """What ``redis_url`` points at: ``single``, ``cluster`` or ``cluster-master<i>``."""
    return getattr(request, "param", SINGLE)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the whole session; tests that break a server use their own."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterFixture]:
    """Three masters on loopback, 16384 slots split between them; started by the first test
    that needs it, torn down after the session whatever happens."""
    cluster = RedisClusterFixture(masters=MASTERS).start()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def redis_url(request: pytest.FixtureRequest, redis_target: str) -> str:
    """URL of the shared server (or of the cluster), emptied before the test so tests never
    see each other."""
    if redis_target.startswith(CLUSTER):
        cluster: RedisClusterFixture = request.getfixturevalue("redis_cluster")
        cluster.flush()
        return cluster.url
    server: RedisServer = request.getfixturevalue("redis_server")
    if not server.running:  # a previous test may have broken it
        server.start()
    server.client().flushall()
    return server.url


@pytest.fixture
def redis_client(
    request: pytest.FixtureRequest, redis_url: str, redis_target: str
) -> Iterator[redis.Redis | RedisCluster]:
    client: redis.Redis | RedisCluster
    if redis_target.startswith(CLUSTER):
        client = request.getfixturevalue("redis_cluster").client()
    else:
        client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def make_redis_server() -> Iterator[Callable[..., RedisServer]]:
    """Factory for private servers a test may stop, kill or restart; all torn down after."""
    servers: list[RedisServer] = []

    def factory(**kwargs) -> RedisServer:
        server = RedisServer(**kwargs).start()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.close()


@pytest.fixture
def private_redis(make_redis_server: Callable[..., RedisServer]) -> RedisServer:
    """A redis-server of this test's own, free to be broken."""
    return make_redis_server()


@pytest.fixture
def queue_name(request: pytest.FixtureRequest, redis_target: str) -> str:
    """A queue name no other test uses; on ``cluster-master<i>`` its keys live on master i."""
    name = f"q-{uuid.uuid4().hex[:10]}"
    if not redis_target.startswith(f"{CLUSTER}-master"):
        return name
    cluster: RedisClusterFixture = request.getfixturevalue("redis_cluster")
    node = cluster.nodes[int(redis_target.removeprefix(f"{CLUSTER}-master"))]
    name = cluster.key_on(node, name)
    assert cluster.node_of(f"sw:{{{name}}}:stream") == node
    return name


@pytest.fixture
def django_redis(redis_url: str, settings) -> str:
    """Point the dashboard (REDIS_URL) and the channel layer at the test's redis-server."""
    settings.REDIS_URL = redis_url
    settings.CHANNEL_LAYERS = layer_settings(redis_url, settings.SECRET_KEY, prefix="sw-test")
    return redis_url
