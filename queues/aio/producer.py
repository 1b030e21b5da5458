"""asyncio Producer: the publishes of queues.Producer, awaited, with the same arguments.

The argument checks, the commands, the buffer's chunking and the reading of a flush's
replies are the plain functions both twins share (queues.publishing.plan, queues.commands);
only the waiting differs: the buffer is flushed by a task on the producer's event loop.
The writes are in ``queues.aio.publishing.writes``, the buffer mode in
``queues.aio.publishing.buffer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from queues import delayed, entries
from queues.aio.connection import AsyncRedisLike, address, connect
from queues.aio.notify import Published, ReplyListener
from queues.aio.publishing.buffer import Buffering
from queues.connection import unavailable_as_error
from queues.exceptions import QueueUnavailable, UnflushedMessages
from queues.keys import queue_keys
from queues.publishing.plan import BUFFERED_PREFIX, PIPELINE_CHUNK, Pending, check_args
from queues.scripts import Scripts
from queues.serializers import Serializer, resolve
from queues.types import Completion

log = logging.getLogger(__name__)

__all__ = ["BUFFERED_PREFIX", "PIPELINE_CHUNK", "Producer"]


class Producer(Buffering):
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
        self._lock = threading.Lock()  # the trim counter's (shared code with the sync twin)

    async def publish(
        self,
        payload: Any,
        *,
        headers: Mapping[str, Any] | None = None,
        delay: float | timedelta | None = None,
        at: datetime | float | None = None,
        dedup_key: str | None = None,
        notify: bool = False,
    ) -> str:
        """Publish one message; its stream id, the ticket id of a delayed one, or
        ``"buffered:<uuid>"`` when held in the buffer (see queues.Producer.publish). With
        ``notify``, a Published whose ``await wait(timeout)`` gives the Completion."""
        fields = entries.encode(payload, self.serializer, headers, int(time.time() * 1000))
        due = delayed.due_ms(delay, at)
        if notify:
            listener = await self._reply_listener()
            token = uuid.uuid4().hex
            fields[entries.REPLY] = self.producer_id
            fields[entries.CORRELATION] = token
            return Published(await self._publish_fields(fields, due, dedup_key), token, listener)
        return await self._publish_fields(fields, due, dedup_key)

    async def on_completion(self, callback: Callable[[Completion], object]) -> None:
        """Call ``callback(completion)`` (on the event loop) for every message this producer
        publishes with ``notify=True`` when it is done or dead-lettered."""
        (await self._reply_listener()).subscribe(callback)

    async def _reply_listener(self) -> ReplyListener:
        if self._replies is None:
            self._replies = ReplyListener(self.client, self.keys, self.producer_id, self.reply_ttl)
        with unavailable_as_error(self.address):
            await self._replies.start()
        return self._replies

    async def _publish_fields(
        self, fields: entries.Fields, due: int | None, dedup_key: str | None
    ) -> str:
        if self.on_unavailable == "buffer":
            if self._buffer:  # keep order: queue up behind what is waiting
                return self._hold([Pending(fields, due, dedup_key)])[0]
            try:
                return await self._send_one(fields, due, dedup_key)
            except QueueUnavailable:
                return self._hold([Pending(fields, due, dedup_key)])[0]
        return await self._send_one(fields, due, dedup_key)

    async def publish_many(
        self, payloads: Iterable[Any], *, headers: Mapping[str, Any] | None = None
    ) -> list[str]:
        """Publish many messages in pipelined round trips; their ids in order (see
        queues.Producer.publish_many)."""
        now = int(time.time() * 1000)
        encoded = [entries.encode(p, self.serializer, headers, now) for p in payloads]
        if self.on_unavailable != "buffer":
            return await self._send_many(encoded)
        if self._buffer:
            return self._hold([Pending(f, None, None) for f in encoded])
        ids: list[str] = []
        try:
            for start in range(0, len(encoded), PIPELINE_CHUNK):
                ids.extend(await self._send_many(encoded[start : start + PIPELINE_CHUNK]))
        except QueueUnavailable:
            ids.extend(self._hold([Pending(f, None, None) for f in encoded[len(ids) :]]))
        return ids

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
