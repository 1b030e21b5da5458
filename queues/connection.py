"""Turn a URL or a client into a redis-py client with bounded timeouts, and name its address.

Every operation of the library either completes or raises QueueUnavailable within a bounded
time: connect timeout 1 s, socket timeout 2 s, two quick retries when connecting fails. A
command that was sent is never sent again by a client made from a URL (one server or
Sentinel): after a timeout or a dropped connection it may have run, and re-sending an XADD
would publish twice. redis-py >= 6 re-sends commands and pipelines on any connection error,
so these clients' connections retry connecting only (see ``SendsOnce``).

URLs (see ``connect``): ``redis://``, ``rediss://``, ``unix://`` (one server),
``redis+sentinel://`` (the master of a Sentinel-monitored service, found again after a
failover) and ``redis+cluster://`` / ``rediss+cluster://`` (a Redis Cluster).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot
from redis.exceptions import ClusterDownError, RedisClusterException, SlotNotCoveredError
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from queues.exceptions import ConfigurationError, QueueUnavailable
from queues.redact import redact_url

DEFAULT_CONNECT_TIMEOUT = 1.0
DEFAULT_SOCKET_TIMEOUT = 2.0
DEFAULT_RETRIES = 2
#: A Sentinel failover takes down-after-milliseconds plus an election (seconds, not
#: milliseconds): retry connection errors for about that long before giving up.
SENTINEL_RETRIES = 6
SENTINEL_BACKOFF = ExponentialBackoff(cap=1.0, base=0.1)

#: A client the library can work with: one server (also a Sentinel master) or a cluster.
Client = redis.Redis | RedisCluster
RedisLike = redis.Redis | RedisCluster | str

SINGLE_SCHEMES = ("redis", "rediss", "unix")
SENTINEL_SCHEME = "redis+sentinel"
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
EXPECTED_URLS = (
    "redis://[:password@]host:6379/0, rediss://..., unix:///path/redis.sock, "
    "redis+sentinel://[:password@]host:26379[,host:port...]/service_name[/db] or "
    "redis+cluster://[:password@]host:port[,host:port...]"
)

#: Errors that mean "Redis did not answer"; everything else is a real reply to report.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    ConnectionError,
    TimeoutError,
    ClusterDownError,  # CLUSTERDOWN: the slot's master is failing over or gone
    SlotNotCoveredError,
)


_CLUSTER_CONNECT_ERRORS: tuple[type[BaseException], ...] = (
    RedisClusterException,
    *UNAVAILABLE_ERRORS,
)


#: The library's name for the one redactor (queues.redact), used in its error messages.
mask_url = redact_url


def _retry(retries: int, backoff: ExponentialBackoff | None = None) -> Retry:
    return Retry(
        backoff or ExponentialBackoff(cap=0.5, base=0.05),
        retries,
        supported_errors=(redis.ConnectionError,),
    )


class SendsOnce:
    """Mixin for a redis-py connection class: connecting is retried with the client's retry
    policy (nothing has been sent yet), a command or pipeline never is.

    redis-py retries a command with the retry policy of the connection it ran on, the same
    policy that retries connecting; the command policy here is "no retry", swapped for the
    client's while (and only while) the connection connects."""

    retry: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a name of our own: redis-py's Sentinel connection has a _connect_retry method
        self._streamwarden_connect_policy = self.retry
        self.retry = Retry(NoBackoff(), 0)

    @contextlib.contextmanager
    def _connecting(self) -> Iterator[None]:
        command_retry, self.retry = self.retry, self._streamwarden_connect_policy
        try:
            yield
        finally:
            self.retry = command_retry

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        with self._connecting():
            return super().connect(*args, **kwargs)  # type: ignore[misc]

    def connect_check_health(self, *args: Any, **kwargs: Any) -> Any:
        # redis-py >= 6 also connects through this (a command sent on a closed connection)
        with self._connecting():
            return super().connect_check_health(*args, **kwargs)  # type: ignore[misc]


_SENDS_ONCE_CLASSES: dict[type, type] = {}


def _sends_once_class(connection_class: type) -> type:
    if issubclass(connection_class, SendsOnce):
        return connection_class
    if connection_class not in _SENDS_ONCE_CLASSES:
        _SENDS_ONCE_CLASSES[connection_class] = type(
            f"SendsOnce{connection_class.__name__}", (SendsOnce, connection_class), {}
        )
    return _SENDS_ONCE_CLASSES[connection_class]


def _sending_once(client: redis.Redis) -> redis.Redis:
    """``client`` (just made, no connection yet) with connections that never re-send."""
    pool = client.connection_pool
    pool.connection_class = _sends_once_class(pool.connection_class)
    return client


def connect(
    redis_or_url: RedisLike,
    *,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    socket_timeout: float | None = DEFAULT_SOCKET_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    **kwargs: Any,
) -> Client:
    """A client for ``redis_or_url``: URLs get bounded timeouts and a short retry policy.

    - ``redis://``, ``rediss://``, ``unix://``: one server (redis-py's URL syntax).
    - ``redis+sentinel://[:password@]host:port[,host:port...]/service_name[/db]``: the master
      of ``service_name`` as the Sentinels report it; after a failover the next connection
      asks them again. Connection errors are retried with backoff for a few seconds (long
      enough for a failover). ``?sentinel_password=...`` authenticates to the Sentinels.
    - ``redis+cluster://[:password@]host:port[,host:port...]`` (``rediss+cluster`` for TLS):
      a Redis Cluster; the hosts are start-up nodes, the rest is discovered. The client asks
      for the slot map at once, so an unreachable cluster raises QueueUnavailable here.

    A client passed in (redis.Redis, a Sentinel ``master_for`` client, or RedisCluster) is
    used as it is (its timeouts are the caller's choice), except that the library needs raw
    bytes: a client made with ``decode_responses=True`` is replaced by a sibling client on
    the same server or cluster that returns bytes.
    """
    if isinstance(redis_or_url, str):
        return _from_url(redis_or_url, connect_timeout, socket_timeout, retries, kwargs)
    if isinstance(redis_or_url, RedisCluster):
        conn_kwargs = redis_or_url.nodes_manager.connection_kwargs
        if conn_kwargs.get("decode_responses"):
            return RedisCluster(
                startup_nodes=list(redis_or_url.startup_nodes),
                retry=redis_or_url.retry,
                **{**_cluster_kwargs(conn_kwargs), "decode_responses": False},
            )
        return redis_or_url
    if isinstance(redis_or_url, redis.Redis):
        old_pool = redis_or_url.connection_pool
        pool_kwargs = old_pool.connection_kwargs
        if pool_kwargs.get("decode_responses"):
            pool: redis.ConnectionPool
            if isinstance(old_pool, SentinelConnectionPool):
                pool = SentinelConnectionPool(
                    old_pool.service_name,
                    old_pool.sentinel_manager,
                    **{**pool_kwargs, "decode_responses": False},
                )
            else:
                pool = redis.ConnectionPool(
                    connection_class=old_pool.connection_class,
                    **{**pool_kwargs, "decode_responses": False},
                )
            return redis.Redis(connection_pool=pool)
        return redis_or_url
    raise ConfigurationError(
        "redis must be a URL string, a redis.Redis or a redis.cluster.RedisCluster client, "
        f"got {type(redis_or_url).__name__}"
    )


def _cluster_kwargs(conn_kwargs: dict[str, Any]) -> dict[str, Any]:
    # what NodesManager adds per node must not be passed back to RedisCluster()
    return {k: v for k, v in conn_kwargs.items() if k not in ("host", "port", "retry")}


def _bad_url(url: str, why: str) -> ConfigurationError:
    return ConfigurationError(
        f"invalid Redis URL {mask_url(url)!r}: {why} (expected {EXPECTED_URLS})"
    )


def _from_url(
    url: str,
    connect_timeout: float,
    socket_timeout: float | None,
    retries: int,
    kwargs: dict[str, Any],
) -> Client:
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    timeouts: dict[str, Any] = {
        "socket_connect_timeout": connect_timeout,
        "socket_timeout": socket_timeout,
        "socket_keepalive": True,
    }
    try:
        if scheme in SINGLE_SCHEMES:
            return _sending_once(
                redis.Redis.from_url(url, retry=_retry(retries), **timeouts, **kwargs)
            )
        if scheme == SENTINEL_SCHEME:
            return _sentinel(url, timeouts, kwargs)
        if scheme in CLUSTER_SCHEMES:
            return _cluster(url, scheme, retries, timeouts, kwargs)
    except (ValueError, TypeError) as exc:
        raise _bad_url(url, str(exc)) from exc
    raise _bad_url(url, f"unknown scheme {scheme + '://' if scheme else '(none)'!r}")


def _hosts(url: str, netloc: str, default_port: int) -> tuple[list[tuple[str, int]], str | None]:
    """``[(host, port), ...]`` and the password of ``[:password@]host:port[,host:port]``."""
    password = None
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        if ":" in userinfo:
            password = unquote(userinfo.split(":", 1)[1]) or None
    hosts = []
    for item in netloc.split(","):
        host, _, port = item.strip().rpartition(":") if ":" in item else (item.strip(), "", "")
        if not host:
            raise _bad_url(url, f"host missing in {item!r}")
        try:
            hosts.append((host.strip("[]"), int(port) if port else default_port))
        except ValueError:
            raise _bad_url(url, f"bad port in {item!r}") from None
    return hosts, password


@dataclasses.dataclass(frozen=True)
class SentinelTarget:
    """What a ``redis+sentinel://`` URL names (shared by the sync and asyncio connect)."""

    hosts: list[tuple[str, int]]
    service: str
    db: int
    password: str | None
    sentinel_kwargs: dict[str, Any]


def sentinel_target(url: str, connect_timeout: float) -> SentinelTarget:
    """Parse and check a ``redis+sentinel://`` URL; ConfigurationError naming the fault."""
    parts = urlsplit(url)
    hosts, password = _hosts(url, parts.netloc, 26379)
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2:
        raise _bad_url(url, "the path must be /service_name or /service_name/db")
    service = unquote(path[0])
    try:
        db = int(path[1]) if len(path) == 2 else 0
    except ValueError:
        raise _bad_url(url, f"db must be a number, got {path[1]!r}") from None
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    sentinel_kwargs: dict[str, Any] = {
        "socket_connect_timeout": connect_timeout,
        "socket_timeout": connect_timeout,
    }
    if "sentinel_password" in query:
        sentinel_kwargs["password"] = query.pop("sentinel_password")
    if query:
        raise _bad_url(url, f"unknown option(s) {', '.join(sorted(query))}")
    return SentinelTarget(hosts, service, db, password, sentinel_kwargs)


def _sentinel(url: str, timeouts: dict[str, Any], kwargs: dict[str, Any]) -> redis.Redis:
    target = sentinel_target(url, timeouts["socket_connect_timeout"])
    sentinel = Sentinel(target.hosts, sentinel_kwargs=target.sentinel_kwargs)
    master = sentinel.master_for(
        target.service,
        redis_class=redis.Redis,
        db=target.db,
        password=target.password,
        retry=_retry(SENTINEL_RETRIES, SENTINEL_BACKOFF),
        **timeouts,
        **kwargs,
    )
    return _sending_once(master)


def cluster_target(url: str) -> tuple[list[tuple[str, int]], str | None]:
    """The start-up nodes and the password of a ``redis+cluster://`` URL (shared by the sync
    and asyncio connect); ConfigurationError naming the fault."""
    parts = urlsplit(url)
    hosts, password = _hosts(url, parts.netloc, 6379)
    if parts.path.strip("/") not in ("", "0"):
        raise _bad_url(url, "a Redis Cluster has only database 0")
    return hosts, password


def _cluster(
    url: str, scheme: str, retries: int, timeouts: dict[str, Any], kwargs: dict[str, Any]
) -> RedisCluster:
    hosts, password = cluster_target(url)
    try:
        # RedisCluster asks a start-up node for the slot map right here, not lazily
        # url= (one start-up node) makes redis-py build each node's pool from the keyword
        # arguments, so a connection_class=... given here reaches every node
        (first_host, first_port), others = hosts[0], hosts[1:]
        return RedisCluster(
            url=f"{'rediss' if scheme.startswith('rediss') else 'redis'}://{first_host}:{first_port}",
            startup_nodes=[ClusterNode(host, port) for host, port in others],
            password=password,
            retry=_retry(retries),
            **timeouts,
            **kwargs,
        )
    except _CLUSTER_CONNECT_ERRORS as exc:
        nodes = ",".join(f"{host}:{port}" for host, port in hosts)
        raise QueueUnavailable(f"cluster:{nodes}", f"{type(exc).__name__}: {exc}") from exc


def is_cluster(client: Any) -> bool:
    """True for a Redis Cluster client (sync or asyncio): blocking reads and pipelines are
    per node there."""
    return isinstance(client, (RedisCluster, AsyncRedisCluster))


def by_slot(client: Any, keys: Iterable[str]) -> list[list[str]]:
    """``keys`` split into lists a single multi-key command may name: one list on a single
    server, one per hash slot on a cluster (order kept within each list)."""
    keys = list(keys)
    if not is_cluster(client):
        return [keys] if keys else []
    slots: dict[int, list[str]] = {}
    for key in keys:
        slots.setdefault(key_slot(key.encode()), []).append(key)
    return list(slots.values())


def address(client: Client) -> str:
    """Where the client talks to, without credentials: ``host:port``, the socket path,
    ``sentinel:<service>@host:port,...`` or ``cluster:host:port,...``."""
    if isinstance(client, RedisCluster):
        nodes = ",".join(f"{n.host}:{n.port}" for n in client.startup_nodes)
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


def socket_timeout(client: Client) -> float | None:
    """The read timeout of the client's connections, None when unbounded."""
    if isinstance(client, RedisCluster):
        value = client.nodes_manager.connection_kwargs.get("socket_timeout")
    else:
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
