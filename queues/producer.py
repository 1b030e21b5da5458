"""Producer: publish messages to a queue's stream (or its delayed set), loudly or not at all.

This module holds construction and close; the Producer is composed of parts in
``queues.publishing``: ``publish`` (publish, publish_many, on_completion), ``buffer`` (the
buffer mode), ``writes`` (durable WAIT, registration, trim), and ``plan``, what both twins
decide without I/O. ``publish`` and ``writes`` are generated from their asyncio twins in
``queues.aio.publishing`` (tests/support/unasync_twins.py).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque

from queues.connection import RedisLike, address, connect, is_cluster
from queues.exceptions import ConfigurationError, UnflushedMessages
from queues.keys import queue_keys
from queues.notify import ReplyListener
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
from queues.publishing.publish import Publishing
from queues.scripts import Scripts
from queues.serializers import Serializer, resolve

log = logging.getLogger(__name__)

__all__ = ["BUFFERED_PREFIX", "PIPELINE_CHUNK", "Pending", "Producer"]


class Producer(Publishing):
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
