"""Producer: publish messages to a queue's stream (or its delayed set), loudly or not at all.

This module holds the public methods; the writes (durable WAIT, registration, trim) are in
``queues.publishing.writes``, the buffer mode in ``queues.publishing.buffer``, and what
both twins decide without I/O in ``queues.publishing.plan``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from queues import delayed, entries
from queues.connection import RedisLike, address, connect, is_cluster, unavailable_as_error
from queues.exceptions import ConfigurationError, QueueUnavailable, UnflushedMessages
from queues.keys import queue_keys
from queues.notify import Published, ReplyListener
from queues.publishing.buffer import Buffering
from queues.publishing.plan import (  # noqa: F401 - re-exported: their home before
    BUFFERED_PREFIX,
    PIPELINE_CHUNK,
    Pending,
    check_args,
    chunk_replies,
    demoted,
    flush_outcome,
    next_chunk,
    report_flush_error,
)
from queues.scripts import Scripts
from queues.serializers import Serializer, resolve
from queues.types import Completion

log = logging.getLogger(__name__)

__all__ = ["BUFFERED_PREFIX", "PIPELINE_CHUNK", "Pending", "Producer"]


class Producer(Buffering):
    """Publishes to one queue. Thread-safe (redis-py clients are).

    By default (``on_unavailable="raise"``) every method either returns ids of entries that
    are in Redis or raises (QueueUnavailable within a few seconds when Redis cannot be
    reached); nothing is reported published that Redis did not accept.

    With ``on_unavailable="buffer"``, a publish that finds Redis unavailable is held in a
    bounded in-memory buffer (``buffer_size`` messages) and publish returns
    ``"buffered:<uuid>"`` instead of a stream id; while anything is buffered, later
    publishes queue up behind it, so order is kept. A background thread flushes the buffer
    in order once Redis answers. A write Redis refuses (OOM, MISCONF, NOREPLICAS, READONLY,
    ...) keeps the messages buffered and is tried again with backoff; ``last_error`` says
    why. A full buffer raises BufferFull (a QueueUnavailable); ``close()`` flushes or raises
    UnflushedMessages with the count left. Nothing Redis acknowledged is sent again; a flush
    cut off by a timeout or a dropped connection after Redis ran it cannot be known to have
    landed and is sent again, so such a message can be published twice (never lost while the
    process lives; lost if it dies with a non-empty buffer).
    """

    def __init__(
        self,
        queue: str,
        redis: RedisLike,
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
        self.on_unavailable = on_unavailable
        self.buffer_size = buffer_size
        self._buffer: deque[Pending] = deque()
        self._buffer_lock = threading.Condition()
        self._flusher: threading.Thread | None = None
        self._closing = False
        self._last_error: BaseException | None = None
        #: Names this producer's reply stream (completion notifications).
        self.producer_id = uuid.uuid4().hex[:16]
        self.reply_ttl = reply_ttl
        self._replies: ReplyListener | None = None
        self.queue = queue
        #: Priority level this producer publishes at (0 = the main stream; consumers with
        #: ``priorities=`` above it drain higher levels first).
        self.priority = priority
        self.keys = queue_keys(queue, priority)
        self.client = connect(redis)
        self._owns_client = self.client is not redis
        self.address = address(self.client)
        self.serializer = resolve(serializer)
        self.dedup_window_ms = int(dedup_window * 1000)
        #: Trim safely every ``trim_every`` publishes (on when ``maxlen`` is given): only
        #: entries all groups have acknowledged go, keeping at least ``maxlen`` entries.
        self.trim = trim or maxlen is not None
        self.maxlen = maxlen
        self.trim_every = max(1, int(trim_every))
        #: Durable publish: after each write, WAIT until ``durable_replicas`` replicas have
        #: it (at most ``durable_timeout`` s), else raise NotDurable. Not on a cluster: WAIT
        #: must follow the write on the same connection, which a cluster client cannot pin.
        self.durable = durable
        self.durable_replicas = durable_replicas
        self.durable_timeout_ms = int(durable_timeout * 1000)
        if durable and is_cluster(self.client):
            raise ConfigurationError("durable=True is not supported on a Redis Cluster client")
        self._scripts = Scripts(self.client)
        self._registered = False
        self._published_since_trim = 0
        self._lock = threading.Lock()

    def publish(
        self,
        payload: Any,
        *,
        headers: Mapping[str, Any] | None = None,
        delay: float | timedelta | None = None,
        at: datetime | float | None = None,
        dedup_key: str | None = None,
        notify: bool = False,
    ) -> str:
        """Publish one message; return its stream id, or the ticket id of a delayed one.

        ``delay`` (seconds or timedelta) or ``at`` (datetime or epoch seconds) schedules it.
        With ``dedup_key``, a second publish with the same key within ``dedup_window``
        returns the first id and publishes nothing. With ``notify``, the id returned is a
        :class:`~queues.notify.Published` whose ``wait(timeout)`` returns how the message
        ended (a Completion: ``done`` or ``dead``); ``on_completion`` subscribes to all.
        """
        fields = entries.encode(payload, self.serializer, headers, int(time.time() * 1000))
        due = delayed.due_ms(delay, at)
        if notify:
            listener = self._reply_listener()
            token = uuid.uuid4().hex
            fields[entries.REPLY] = self.producer_id
            fields[entries.CORRELATION] = token
            return Published(self._publish_fields(fields, due, dedup_key), token, listener)
        return self._publish_fields(fields, due, dedup_key)

    def on_completion(self, callback: Callable[[Completion], object]) -> None:
        """Call ``callback(completion)`` (in the listener thread) for every message this
        producer publishes with ``notify=True`` when it is done or dead-lettered."""
        self._reply_listener().subscribe(callback)

    def _reply_listener(self) -> ReplyListener:
        with self._lock:
            if self._replies is None:
                self._replies = ReplyListener(
                    self.client, self.keys, self.producer_id, self.reply_ttl
                )
        with unavailable_as_error(self.address):
            self._replies.start()
        return self._replies

    def _publish_fields(
        self, fields: entries.Fields, due: int | None, dedup_key: str | None
    ) -> str:
        if self.on_unavailable == "buffer":
            with self._buffer_lock:
                if self._buffer:  # keep order: queue up behind what is waiting
                    return self._hold([Pending(fields, due, dedup_key)])[0]
            try:
                return self._send_one(fields, due, dedup_key)
            except QueueUnavailable:
                with self._buffer_lock:
                    return self._hold([Pending(fields, due, dedup_key)])[0]
        return self._send_one(fields, due, dedup_key)

    def publish_many(
        self, payloads: Iterable[Any], *, headers: Mapping[str, Any] | None = None
    ) -> list[str]:
        """Publish many messages in pipelined round trips; return their ids in order.

        All payloads are serialised first, so a bad one raises before anything is sent. If
        Redis fails part-way, QueueUnavailable is raised; entries of earlier chunks are in,
        and some of the chunk that was cut off may be. It is not sent again, except in
        buffer mode, which holds the rest from the cut-off chunk on and flushes it later.
        """
        now = int(time.time() * 1000)
        encoded = [entries.encode(p, self.serializer, headers, now) for p in payloads]
        if self.on_unavailable != "buffer":
            return self._send_many(encoded)
        with self._buffer_lock:
            if self._buffer:
                return self._hold([Pending(f, None, None) for f in encoded])
        ids: list[str] = []
        try:
            for start in range(0, len(encoded), PIPELINE_CHUNK):
                ids.extend(self._send_many(encoded[start : start + PIPELINE_CHUNK]))
        except QueueUnavailable:
            with self._buffer_lock:
                ids.extend(self._hold([Pending(f, None, None) for f in encoded[len(ids) :]]))
        return ids

    def close(self, timeout: float = 10.0) -> None:
        """Flush the buffer (buffer mode), then release a client made from a URL.

        When the buffer cannot be flushed within ``timeout`` seconds (Redis away, or
        refusing writes), the flusher stops and UnflushedMessages says how many messages
        never reached Redis and the last error; nothing lands after it is raised."""
        try:
            if self._replies is not None:
                self._replies.close()
                self._replies = None
            left = self.flush(timeout)
            if left:
                left = self._stop_flusher()
            if left:
                raise UnflushedMessages(self.address, left, self._last_error)
        finally:
            if self._owns_client:
                self.client.close()

    def __repr__(self) -> str:
        return f"<Producer {self.queue!r} at {self.address}>"
