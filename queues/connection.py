"""Turn a URL or a client into a redis.Redis with bounded timeouts, and name its address.

Every operation of the library either completes or raises QueueUnavailable within a bounded
time: connect timeout 1 s, socket timeout 2 s, two quick retries on connection errors
(never on timeouts: a command that timed out may have run, and re-sending it could publish
twice).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from queues.exceptions import ConfigurationError, QueueUnavailable

DEFAULT_CONNECT_TIMEOUT = 1.0
DEFAULT_SOCKET_TIMEOUT = 2.0
DEFAULT_RETRIES = 2

RedisLike = redis.Redis | str

#: Errors that mean "Redis did not answer"; everything else is a real reply to report.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    ConnectionError,
    TimeoutError,
)


def mask_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def connect(
    redis_or_url: RedisLike,
    *,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    socket_timeout: float | None = DEFAULT_SOCKET_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    **kwargs: Any,
) -> redis.Redis:
    """A client for ``redis_or_url``: URLs get bounded timeouts and a short retry policy.

    A client passed in is used as it is (its timeouts are the caller's choice), except that
    the library needs raw bytes: a client made with ``decode_responses=True`` is replaced by
    a sibling client on the same server that returns bytes.
    """
    if isinstance(redis_or_url, str):
        try:
            return redis.Redis.from_url(
                redis_or_url,
                socket_connect_timeout=connect_timeout,
                socket_timeout=socket_timeout,
                socket_keepalive=True,
                retry=Retry(
                    ExponentialBackoff(cap=0.5, base=0.05),
                    retries,
                    supported_errors=(redis.ConnectionError,),
                ),
                **kwargs,
            )
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"invalid Redis URL {mask_url(redis_or_url)!r}: {exc} "
                "(expected e.g. redis://host:6379/0, rediss://... or unix:///path/redis.sock)"
            ) from exc
    if isinstance(redis_or_url, redis.Redis):
        pool_kwargs = redis_or_url.connection_pool.connection_kwargs
        if pool_kwargs.get("decode_responses"):
            pool = redis.ConnectionPool(
                connection_class=redis_or_url.connection_pool.connection_class,
                **{**pool_kwargs, "decode_responses": False},
            )
            return redis.Redis(connection_pool=pool)
        return redis_or_url
    raise ConfigurationError(
        f"redis must be a URL string or a redis.Redis client, got {type(redis_or_url).__name__}"
    )


def address(client: redis.Redis) -> str:
    """``host:port`` (or the socket path) the client talks to, without credentials."""
    kwargs = client.connection_pool.connection_kwargs
    if kwargs.get("path"):
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


def socket_timeout(client: redis.Redis) -> float | None:
    """The read timeout of the client's connections, None when unbounded."""
    value = client.connection_pool.connection_kwargs.get("socket_timeout")
    return float(value) if value is not None else None


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means Redis did not answer (as opposed to an error reply)."""
    return isinstance(exc, UNAVAILABLE_ERRORS) and not isinstance(exc, QueueUnavailable)


@contextlib.contextmanager
def unavailable_as_error(addr: str) -> Iterator[None]:
    """Re-raise connection failures and timeouts as QueueUnavailable naming ``addr``."""
    try:
        yield
    except QueueUnavailable:
        raise
    except UNAVAILABLE_ERRORS as exc:
        raise QueueUnavailable(addr, f"{type(exc).__name__}: {exc}") from exc
