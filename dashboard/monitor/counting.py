"""Count the Redis commands the monitor sends, so the page can show what watching costs."""

from __future__ import annotations

import threading
from typing import Any

import redis
from redis.connection import Connection

from queues.connection import CLUSTER_SCHEMES, SENTINEL_SCHEME, Client, connect

_local = threading.local()


def commands_so_far() -> int:
    """Commands answered on this thread's counting connections since the thread started."""
    return int(getattr(_local, "count", 0))


class CountingConnection(Connection):
    """A redis-py connection that counts replies (one per command, pipelined or not)."""

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        _local.count = getattr(_local, "count", 0) + 1
        return super().read_response(*args, **kwargs)


def counting_client(url: str, *, timeout: float = 2.0) -> Client:
    """A client for ``url`` whose commands are counted, with short timeouts (never hang).

    Cluster and Sentinel URLs get the library's clients; on a cluster every node's
    connections count, through Sentinel commands are not counted."""
    scheme = url.split("://", 1)[0].lower()
    if scheme in CLUSTER_SCHEMES:
        return connect(
            url,
            connect_timeout=timeout,
            socket_timeout=timeout,
            connection_class=CountingConnection,
        )
    if scheme == SENTINEL_SCHEME:
        return connect(url, connect_timeout=timeout, socket_timeout=timeout)
    pool = redis.ConnectionPool.from_url(
        url,
        connection_class=CountingConnection,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        health_check_interval=0,
    )
    return redis.Redis(connection_pool=pool)
