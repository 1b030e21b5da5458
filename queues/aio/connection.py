"""An asyncio client with the same bounded timeouts as the sync ones (queues.connection), and
the same rule: connecting is retried, a command that was sent never is."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from queues.connection import (
    CLUSTER_SCHEMES,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_RETRIES,
    DEFAULT_SOCKET_TIMEOUT,
    SENTINEL_BACKOFF,
    SENTINEL_RETRIES,
    SENTINEL_SCHEME,
    cluster_target,
    mask_url,
    sentinel_target,
)
from queues.exceptions import ConfigurationError

#: A client the asyncio classes work with: one server (also a Sentinel master) or a cluster.
AsyncClient = aioredis.Redis | RedisCluster
AsyncRedisLike = aioredis.Redis | RedisCluster | str


class SendsOnce:
    """Mixin for a redis.asyncio connection class: connecting is retried with the client's
    retry policy, a command or pipeline never is (see queues.connection.SendsOnce)."""

    retry: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a name of our own: redis-py's Sentinel connection has a _connect_retry method
        self._streamwarden_connect_policy = self.retry
        self.retry = Retry(NoBackoff(), 0)

    @contextlib.contextmanager
    def _connecting(self) -> Iterator[None]:
        # a connection belongs to one task at a time: no other task sees the swap
        command_retry, self.retry = self.retry, self._streamwarden_connect_policy
        try:
            yield
        finally:
            self.retry = command_retry

    async def connect(self, *args: Any, **kwargs: Any) -> Any:
        with self._connecting():
            return await super().connect(*args, **kwargs)  # type: ignore[misc]

    async def connect_check_health(self, *args: Any, **kwargs: Any) -> Any:
        with self._connecting():
            return await super().connect_check_health(*args, **kwargs)  # type: ignore[misc]


_SENDS_ONCE_CLASSES: dict[type, type] = {}


def _sends_once_class(connection_class: type) -> type:
    if issubclass(connection_class, SendsOnce):
        return connection_class
    if connection_class not in _SENDS_ONCE_CLASSES:
        _SENDS_ONCE_CLASSES[connection_class] = type(
            f"SendsOnce{connection_class.__name__}", (SendsOnce, connection_class), {}
        )
    return _SENDS_ONCE_CLASSES[connection_class]


def _retry(retries: int, backoff: ExponentialBackoff | None = None) -> Retry:
    return Retry(
        backoff or ExponentialBackoff(cap=0.5, base=0.05),
        retries,
        supported_errors=(RedisConnectionError,),
    )


def connect(redis_or_url: AsyncRedisLike) -> Any:
    """A ``redis.asyncio`` client for a URL (bounded timeouts, short retries) or the client.

    The URLs of queues.connection.connect: ``redis://``, ``rediss://``, ``unix://``,
    ``redis+sentinel://…/service_name[/db]`` (the master as the Sentinels report it, asked
    again after a failover, connection errors retried for about as long as one takes) and
    ``redis+cluster://host:port[,host:port…]`` (``rediss+cluster://`` for TLS; a
    ``redis.asyncio.cluster.RedisCluster``, which learns the slot map on its first command,
    so an unreachable cluster raises QueueUnavailable there, not here)."""
    if isinstance(redis_or_url, str):
        url = redis_or_url
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        timeouts: dict[str, Any] = {
            "socket_connect_timeout": DEFAULT_CONNECT_TIMEOUT,
            "socket_timeout": DEFAULT_SOCKET_TIMEOUT,
            "socket_keepalive": True,
        }
        try:
            if scheme in CLUSTER_SCHEMES:
                return _cluster(url, scheme, timeouts)
            if scheme == SENTINEL_SCHEME:
                target = sentinel_target(url, DEFAULT_CONNECT_TIMEOUT)
                client = Sentinel(target.hosts, sentinel_kwargs=target.sentinel_kwargs).master_for(
                    target.service,
                    redis_class=aioredis.Redis,
                    db=target.db,
                    password=target.password,
                    retry=_retry(SENTINEL_RETRIES, SENTINEL_BACKOFF),
                    **timeouts,
                )
            else:
                client = aioredis.Redis.from_url(url, retry=_retry(DEFAULT_RETRIES), **timeouts)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"invalid Redis URL {mask_url(url)!r}: {exc}") from exc
        pool = client.connection_pool
        pool.connection_class = _sends_once_class(pool.connection_class)
        return client
    if isinstance(redis_or_url, RedisCluster):
        if redis_or_url.connection_kwargs.get("decode_responses"):
            raise ConfigurationError("the asyncio classes need a client without decode_responses")
        return redis_or_url
    if isinstance(redis_or_url, aioredis.Redis):
        if redis_or_url.connection_pool.connection_kwargs.get("decode_responses"):
            raise ConfigurationError("the asyncio classes need a client without decode_responses")
        return redis_or_url
    raise ConfigurationError(
        "redis must be a URL, a redis.asyncio.Redis or a redis.asyncio.cluster.RedisCluster "
        f"client, got {type(redis_or_url).__name__}"
    )


def _cluster(url: str, scheme: str, timeouts: dict[str, Any]) -> RedisCluster:
    hosts, password = cluster_target(url)
    first_host, first_port = hosts[0]
    return RedisCluster(
        host=first_host,
        port=first_port,
        startup_nodes=[ClusterNode(host, port) for host, port in hosts],
        password=password,
        ssl=scheme.startswith("rediss"),
        retry=_retry(DEFAULT_RETRIES),
        **timeouts,
    )


def address(client: Any) -> str:
    """``host:port`` (or the socket path) of the client, ``sentinel:<service>@host:port,...``
    or ``cluster:host:port,...``, without credentials."""
    if isinstance(client, RedisCluster):
        nodes = ",".join(client.nodes_manager.startup_nodes)
        return f"cluster:{nodes}"
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        sentinels = ",".join(
            "{host}:{port}".format(**s.connection_pool.connection_kwargs)
            for s in pool.sentinel_manager.sentinels
        )
        return f"sentinel:{pool.service_name}@{sentinels}"
    kwargs = pool.connection_kwargs
    if kwargs.get("path"):
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


def socket_timeout(client: Any) -> float | None:
    """The read timeout of the client's connections, None when unbounded."""
    if isinstance(client, RedisCluster):
        value = client.connection_kwargs.get("socket_timeout")
    else:
        value = client.connection_pool.connection_kwargs.get("socket_timeout")
    return float(value) if value is not None else None
