"""An asyncio client with the same bounded timeouts as the sync ones (queues.connection)."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from queues.connection import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_RETRIES,
    DEFAULT_SOCKET_TIMEOUT,
    mask_url,
)
from queues.exceptions import ConfigurationError

AsyncRedisLike = aioredis.Redis | str


def connect(redis_or_url: AsyncRedisLike) -> aioredis.Redis:
    """A ``redis.asyncio.Redis`` for a URL (bounded timeouts, short retries) or the client."""
    if isinstance(redis_or_url, str):
        try:
            return aioredis.Redis.from_url(
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
