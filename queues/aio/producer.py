"""asyncio Producer: the publishes of queues.Producer, awaited, with the same arguments.

The argument checks, the commands, the buffer's chunking and the reading of a flush's
replies are the plain functions both twins share (queues.publishing.plan, queues.commands);
only the waiting differs: the buffer is flushed by a task on the producer's event loop.
Composed of parts in ``queues.aio.publishing``: ``publish`` and ``writes`` are the source
the sync twins are generated from (unasync); ``buffer`` is this twin's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections import deque

from queues.aio.connection import AsyncRedisLike, address, connect
from queues.aio.notify import ReplyListener
from queues.aio.publishing.publish import Publishing
from queues.connection import is_cluster
from queues.exceptions import ConfigurationError, UnflushedMessages
from queues.keys import queue_keys
from queues.publishing.plan import BUFFERED_PREFIX, PIPELINE_CHUNK, Pending, check_args
from queues.scripts import Scripts
from queues.serializers import Serializer, resolve

log = logging.getLogger(__name__)

__all__ = ["BUFFERED_PREFIX", "PIPELINE_CHUNK", "Producer"]


class Producer(Publishing):
    """Publishes to one queue from asyncio code; the same arguments, defaults and
    guarantees as queues.Producer (see its docstring: raise or buffer when Redis is away,
    durable WAIT, safe trimming, priority level, completion notifications). Safe to share
    between tasks of one event loop; the buffer's flusher runs as a task on that loop."""

    def __init__(
        self,
        queue: str,
        redis: AsyncRedisLike,
        *,
        serializer: Serializer | None = None,
        dedup_window: float = 3600.0,
        trim: bool = False,
        trim_every: int = 1_000,
        maxlen: int | None = None,
        durable: bool = False,
        durable_replicas: int = 1,
        durable_timeout: float = 1.0,
        on_unavailable: str = "raise",
        buffer_size: int = 10_000,
        reply_ttl: float = 30.0,
        priority: int = 0,
    ) -> None:
        check_args(
            on_unavailable=on_unavailable,
            buffer_size=buffer_size,
            dedup_window=dedup_window,
            maxlen=maxlen,
            durable=durable,
            durable_replicas=durable_replicas,
            durable_timeout=durable_timeout,
        )
        self.queue = queue
        self.priority = priority
        self.keys = queue_keys(queue, priority)
        self.client = connect(redis)
        self._owns_client = self.client is not redis
        self.address = address(self.client)
        self.serializer = resolve(serializer)
        self.dedup_window_ms = int(dedup_window * 1000)
        self.trim = trim or maxlen is not None
        self.maxlen = maxlen
        self.trim_every = max(1, int(trim_every))
        self.durable = durable
        self.durable_replicas = durable_replicas
        self.durable_timeout_ms = int(durable_timeout * 1000)
        if durable and is_cluster(self.client):  # as queues.Producer: WAIT needs one connection
            raise ConfigurationError("durable=True is not supported on a Redis Cluster client")
        self.on_unavailable = on_unavailable
        self.buffer_size = buffer_size
        self.producer_id = uuid.uuid4().hex[:16]
        self.reply_ttl = reply_ttl
        self._replies: ReplyListener | None = None
        self._buffer: deque[Pending] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False
        self._last_error: BaseException | None = None
        self._scripts = Scripts(self.client)
        self._registered = False
        self._published_since_trim = 0
        # the shared code takes these as the sync twin's threads do (never across an await)
        self._lock = threading.Lock()
        self._buffer_lock = threading.Condition()

    async def close(self, timeout: float = 10.0) -> None:
        """Flush the buffer (buffer mode), then release a client made from a URL; raise
        UnflushedMessages when it could not be flushed within ``timeout`` s (see
        queues.Producer.close)."""
        try:
            if self._replies is not None:
                await self._replies.close()
                self._replies = None
            left = await self.flush(timeout)
            if left and self._flusher is not None:
                self._closing = True
                self._wake.set()
                with contextlib.suppress(Exception):
                    await self._flusher  # an attempt in flight ends within the socket timeout
                left = len(self._buffer)
            if left:
                raise UnflushedMessages(self.address, left, self._last_error)
        finally:
            if self._owns_client:
                await self.client.aclose()

    def __repr__(self) -> str:
        return f"<aio.Producer {self.queue!r} at {self.address}>"
