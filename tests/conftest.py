"""Shared fixtures: real redis-server processes, never a fake."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from dashboard.sealed_layer import layer_settings
from tests.support.redis_process import RedisServer, wait_for

__all__ = ["wait_for"]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the whole session; tests that break a server use their own."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """URL of the shared server, emptied before the test so tests never see each other."""
    if not redis_server.running:  # a previous test may have broken it
        redis_server.start()
    redis_server.client().flushall()
    return redis_server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
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
def queue_name() -> str:
    """A queue name no other test uses."""
    return f"q-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def django_redis(redis_url: str, settings) -> str:
    """Point the dashboard (REDIS_URL) and the channel layer at the test's redis-server."""
    settings.REDIS_URL = redis_url
    settings.CHANNEL_LAYERS = layer_settings(redis_url, settings.SECRET_KEY, prefix="sw-test")
    return redis_url
