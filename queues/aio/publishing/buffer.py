"""queues.aio.Producer's buffer mode, flushed by a task on the producer's event loop (the
asyncio twin of queues.publishing.buffer)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque

import redis

from queues.aio.publishing.writes import Writes
from queues.backoff import Backoff
from queues.connection import unavailable_as_error
from queues.exceptions import BufferFull, NotDurable, QueueUnavailable
from queues.publishing.plan import (
    BUFFERED_PREFIX,
    Pending,
    chunk_replies,
    flush_outcome,
    next_chunk,
    report_flush_error,
)

log = logging.getLogger("queues.aio.producer")


class Buffering(Writes):
    """The buffer mode of queues.aio.Producer (a part of it)."""

    buffer_size: int
    _buffer: deque[Pending]
    _flusher: asyncio.Task[None] | None
    _wake: asyncio.Event
    _closing: bool
    _last_error: BaseException | None

    @property
    def buffered(self) -> int:
        """Messages held in the buffer, not yet in Redis."""
        return len(self._buffer)

    @property
    def last_error(self) -> BaseException | None:
        """Why the buffer's latest flush attempt failed (see queues.Producer.last_error)."""
        return self._last_error

    def _hold(self, items: list[Pending]) -> list[str]:
        """Buffer ``items`` (all or none) and make sure the flusher task runs."""
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
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_main())
        return [f"{BUFFERED_PREFIX}{uuid.uuid4().hex}" for _ in items]

    async def _flush_main(self) -> None:
        backoff = Backoff(base=0.05, cap=1.0)
        while self._buffer and not self._closing:
            chunk = next_chunk(self._buffer)
            landed, error = await self._flush_chunk(chunk)
            # the chunk is still the head of the buffer: only this task takes from it
            for _ in chunk:
                self._buffer.popleft()
            self._buffer.extendleft(
                reversed([item for item, done in zip(chunk, landed, strict=True) if not done])
            )
            previous, self._last_error = self._last_error, error
            report_flush_error(self.queue, previous, error)
            if not self._buffer:
                log.warning("producer of %r: buffer flushed to %s", self.queue, self.address)
            if error is None or all(landed):
                backoff.reset()
                continue
            # nothing is dropped: the refused message stays at the head and is tried again
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), backoff.next())

    async def _flush_chunk(self, chunk: list[Pending]) -> tuple[list[bool], BaseException | None]:
        head = chunk[0]
        if head.due is not None or head.dedup_key is not None:
            try:
                await self._send_one(head.fields, head.due, head.dedup_key)
            except NotDurable as exc:  # on the master: sending it again would duplicate it
                return [True], exc
            except Exception as exc:  # unavailable or refused: still buffered
                return [False], exc
            return [True], None
        try:
            with unavailable_as_error(self.address):
                try:
                    await self._register()
                    pipe = self.client.pipeline(transaction=False)
                    pipe.execute_command("MULTI")
                    for item in chunk:
                        pipe.xadd(self.keys.stream, item.fields)  # type: ignore[arg-type]
                    pipe.execute_command("EXEC")
                    if self.durable:  # after EXEC: inside MULTI, WAIT would not wait
                        pipe.wait(self.durable_replicas, self.durable_timeout_ms)
                    replies = await pipe.execute(raise_on_error=False)
                except redis.ConnectionError:
                    self._registered = False
                    raise
        except Exception as exc:  # unavailable or refused as a whole: still buffered
            return [False] * len(chunk), exc
        acked = replies.pop() if self.durable else None
        landed, ids, error = flush_outcome(
            chunk_replies(replies, True, len(chunk)),
            acked,
            self.durable_replicas,
            self.durable_timeout_ms,
        )
        await self._after_publish(len(ids))
        return landed, error

    async def flush(self, timeout: float | None = None) -> int:
        """Wait until the buffer is empty (or ``timeout``); return how many are left."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._buffer and self._flusher is not None and not self._flusher.done():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            # the flusher's progress is in the buffer's length: look again shortly
            await asyncio.sleep(0.05 if remaining is None else min(0.05, remaining))
        return len(self._buffer)
