"""The Producer's buffer mode: publishes held in memory while Redis is unavailable, flushed in
order by a background thread."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from typing import Any

import redis

from queues import entries
from queues.backoff import Backoff
from queues.connection import is_cluster, socket_timeout, unavailable_as_error
from queues.exceptions import BufferFull, NotDurable, QueueUnavailable
from queues.publishing.plan import (
    BUFFERED_PREFIX,
    Pending,
    chunk_replies,
    flush_outcome,
    next_chunk,
    report_flush_error,
)
from queues.publishing.writes import Writes

log = logging.getLogger("queues.producer")


class Buffering(Writes):
    """The buffer mode of queues.Producer (a part of it)."""

    buffer_size: int
    _buffer: deque[Pending]
    _buffer_lock: threading.Condition
    _flusher: threading.Thread | None
    _closing: bool
    _last_error: BaseException | None

    @property
    def buffered(self) -> int:
        """Messages held in the buffer, not yet in Redis."""
        with self._buffer_lock:
            return len(self._buffer)

    def _hold(self, items: list[Pending]) -> list[str]:
        """Buffer ``items`` (all or none; caller holds _buffer_lock) and wake the flusher."""
        if self._closing:
            raise QueueUnavailable(self.address, "the producer is closing; not published")
        if len(self._buffer) + len(items) > self.buffer_size:
            raise BufferFull(self.address, len(self._buffer))
        if not self._buffer:
            log.warning(
                "producer of %r: Redis at %s unavailable; buffering publishes (up to %d)",
                self.queue,
                self.address,
                self.buffer_size,
            )
        self._buffer.extend(items)
        if self._flusher is None or not self._flusher.is_alive():
            self._flusher = threading.Thread(
                target=self._flush_main, name=f"sw-flusher-{self.queue}", daemon=True
            )
            self._flusher.start()
        self._buffer_lock.notify_all()
        return [f"{BUFFERED_PREFIX}{uuid.uuid4().hex}" for _ in items]

    @property
    def last_error(self) -> BaseException | None:
        """Why the buffer's latest flush attempt failed: QueueUnavailable while Redis is
        away, Redis's own error while it refuses writes (OOM, MISCONF, NOREPLICAS,
        READONLY, ...), NotDurable when replicas did not confirm what landed; None once an
        attempt succeeds."""
        return self._last_error

    def _flush_main(self) -> None:
        backoff = Backoff(base=0.05, cap=1.0)
        while True:
            with self._buffer_lock:
                if not self._buffer or self._closing:
                    self._buffer_lock.notify_all()
                    return
                chunk = self._next_chunk()
            landed, error = self._flush_chunk(chunk)
            with self._buffer_lock:
                # the chunk is still the head of the buffer: only this thread takes from it
                for _ in chunk:
                    self._buffer.popleft()
                self._buffer.extendleft(
                    reversed([item for item, done in zip(chunk, landed, strict=True) if not done])
                )
                self._report(error)
                if not self._buffer:
                    log.warning("producer of %r: buffer flushed to %s", self.queue, self.address)
                self._buffer_lock.notify_all()
                if error is None or all(landed):
                    backoff.reset()
                    continue
                # Nothing is ever dropped: a refused message stays at the head, in order,
                # and is tried again after a growing pause (at most 1 s).
                self._buffer_lock.wait(backoff.next())

    def _report(self, error: BaseException | None) -> None:
        """Keep ``error`` as last_error; log it when it differs from the one before."""
        previous, self._last_error = self._last_error, error
        report_flush_error(self.queue, previous, error)

    def _next_chunk(self) -> list[Pending]:
        return next_chunk(self._buffer)

    def _flush_chunk(self, chunk: list[Pending]) -> tuple[list[bool], BaseException | None]:
        """Send ``chunk``; which of its messages are in Redis now, and the first error."""
        head = chunk[0]
        if head.due is not None or head.dedup_key is not None:
            try:
                self._send_one(head.fields, head.due, head.dedup_key)
            except NotDurable as exc:  # on the master: sending it again would duplicate it
                return [True], exc
            except Exception as exc:  # unavailable or refused: still buffered
                return [False], exc
            return [True], None
        try:
            with unavailable_as_error(self.address):
                try:
                    self._register()
                    replies, acked = self._pipeline_chunk([item.fields for item in chunk])
                except redis.ConnectionError:
                    self._registered = False
                    raise
        except Exception as exc:  # unavailable or refused as a whole: still buffered
            return [False] * len(chunk), exc
        landed, ids, error = flush_outcome(
            replies, acked, self.durable_replicas, self.durable_timeout_ms
        )
        self._after_publish(len(ids))
        return landed, error

    def _pipeline_chunk(self, chunk: list[entries.Fields]) -> tuple[list[Any], Any]:
        """XADD ``chunk`` in one round trip: the reply of each (an id or the error Redis
        answered) and, when durable, WAIT's reply.

        On one server the XADDs go inside MULTI/EXEC, so Redis accepts the whole chunk or
        none of it (a refusal while queueing aborts the EXEC), and the order holds.
        ``raise_on_error=False``: what Redis accepted must be known, never sent again."""
        pipe = self.client.pipeline(transaction=False)
        atomic = not is_cluster(self.client)  # a cluster pipeline cannot hold MULTI
        if atomic:
            pipe.execute_command("MULTI")
        for fields in chunk:
            pipe.xadd(self.keys.stream, fields)  # type: ignore[arg-type]
        if atomic:
            pipe.execute_command("EXEC")
        if self.durable:  # after EXEC: inside MULTI, WAIT would not wait
            pipe.wait(self.durable_replicas, self.durable_timeout_ms)
        replies = pipe.execute(raise_on_error=False)
        acked = replies.pop() if self.durable else None
        return chunk_replies(replies, atomic, len(chunk)), acked

    def flush(self, timeout: float | None = None) -> int:
        """Wait until the buffer is empty (or ``timeout``); return how many are left."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._buffer_lock:
            while self._buffer:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._buffer_lock.wait(0.1 if remaining is None else min(0.1, remaining))
            return len(self._buffer)

    def _stop_flusher(self) -> int:
        """Stop the flusher after its current attempt; how many messages are left."""
        with self._buffer_lock:
            self._closing = True
            self._buffer_lock.notify_all()
            flusher = self._flusher
        if flusher is not None:
            # an attempt in flight ends within the socket timeout; it may still land
            read_timeout = socket_timeout(self.client)
            flusher.join(None if read_timeout is None else read_timeout + 1.0)
        return self.buffered
