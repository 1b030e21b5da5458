"""An asyncio client with the same bounded timeouts as the sync ones (queues.connection), and
the same rule: connecting is retried, a command that was sent never is."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from queues.connection import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_RETRIES,
    DEFAULT_SOCKET_TIMEOUT,
    mask_url,
)
from queues.exceptions import ConfigurationError

AsyncRedisLike = aioredis.Redis | str


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


def connect(redis_or_url: AsyncRedisLike) -> aioredis.Redis:
    """A ``redis.asyncio.Redis`` for a URL (bounded timeouts, short retries) or the client."""
    if isinstance(redis_or_url, str):
        try:
            client = aioredis.Redis.from_url(
                redis_or_url,
                socket_connect_timeout=DEFAULT_CONNECT_TIMEOUT,
                socket_timeout=DEFAULT_SOCKET_TIMEOUT,
                socket_keepalive=True,
                retry=Retry(
                    ExponentialBackoff(cap=0.5, base=0.05),
                    DEFAULT_RETRIES,
                    supported_errors=(RedisConnectionError,),
                ),
            )
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"invalid Redis URL {mask_url(redis_or_url)!r}: {exc}"
            ) from exc
        pool = client.connection_pool
        pool.connection_class = _sends_once_class(pool.connection_class)
        return client
    if isinstance(redis_or_url, aioredis.Redis):
        if redis_or_url.connection_pool.connection_kwargs.get("decode_responses"):
            raise ConfigurationError("the asyncio classes need a client without decode_responses")
        return redis_or_url
    raise ConfigurationError(
        f"redis must be a URL or a redis.asyncio.Redis client, got {type(redis_or_url).__name__}"
    )


def address(client: Any) -> str:
    """``host:port`` (or the socket path) of the client, without credentials."""
    kwargs = client.connection_pool.connection_kwargs
    if kwargs.get("path"):
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
