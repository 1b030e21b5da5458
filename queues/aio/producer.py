"""asyncio Producer: the publishes of queues.Producer, awaited, with the same arguments.

The argument checks, the commands, the buffer's chunking and the reading of a flush's
replies are the sync Producer's plain functions (queues.producer); only the waiting
differs: the buffer is flushed by a task on the producer's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import redis

from queues import commands, delayed, entries
from queues import trim as trim_mod
from queues.aio.connection import AsyncRedisLike, address, connect
from queues.aio.notify import Published, ReplyListener
from queues.backoff import Backoff
from queues.connection import unavailable_as_error
from queues.entries import text
from queues.exceptions import (
    BufferFull,
    NotDurable,
    QueueUnavailable,
    TrimRefused,
    UnflushedMessages,
)
from queues.keys import REGISTRY, queue_keys
from queues.producer import (
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

__all__ = ["BUFFERED_PREFIX", "PIPELINE_CHUNK", "Producer"]


class Producer:
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

    async def _send_one(
        self, fields: entries.Fields, due: int | None, dedup_key: str | None
    ) -> str:
        with unavailable_as_error(self.address):
            try:
                await self._register()
                if due is not None:
                    keys, args = commands.schedule_call(
                        self.keys, fields, due, dedup_key, self.dedup_window_ms
                    )
                    _created, result = await self._write(
                        lambda c: self._scripts.schedule(keys=keys, args=args, client=c)
                    )
                    return text(result)
                if dedup_key is not None:
                    keys, args = commands.publish_dedup_call(
                        self.keys, fields, dedup_key, self.dedup_window_ms
                    )
                    _created, entry_id = await self._write(
                        lambda c: self._scripts.publish(keys=keys, args=args, client=c)
                    )
                    return text(entry_id)
                entry_id = text(await self._write(lambda c: c.xadd(self.keys.stream, fields)))
            except redis.ConnectionError:
                self._registered = False  # a restarted server may have lost the registry
                raise
        await self._after_publish(1)
        return entry_id

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

    async def _send_many(self, encoded: list[entries.Fields]) -> list[str]:
        ids: list[str] = []
        with unavailable_as_error(self.address):
            try:
                await self._register()
                for start in range(0, len(encoded), PIPELINE_CHUNK):
                    pipe = self.client.pipeline(transaction=False)
                    for fields in encoded[start : start + PIPELINE_CHUNK]:
                        pipe.xadd(self.keys.stream, fields)  # type: ignore[arg-type]
                    if self.durable:
                        pipe.wait(self.durable_replicas, self.durable_timeout_ms)
                    replies = await pipe.execute()
                    if self.durable:
                        self._check_durable([text(i) for i in replies[:-1]], replies[-1])
                        replies = replies[:-1]
                    ids.extend(text(i) for i in replies)
            except redis.ConnectionError:
                self._registered = False
                raise
        await self._after_publish(len(ids))
        return ids

    async def _write(self, command: Callable[[Any], Awaitable[Any]]) -> Any:
        """One write; when durable, pipelined with WAIT on the same connection (see
        queues.Producer._write for why and for the retries after a failover)."""
        if not self.durable:
            return await command(self.client)
        for attempt in (1, 2, 3):
            pipe = self.client.pipeline(transaction=False)
            await command(pipe)  # queues the command: an async pipeline awaits to itself
            pipe.wait(self.durable_replicas, self.durable_timeout_ms)
            try:
                result, acked = await pipe.execute()
                break
            except redis.exceptions.NoScriptError:
                if attempt == 3:
                    raise
            except redis.ResponseError as exc:
                if attempt == 3 or not demoted(exc):
                    raise
                await self.client.connection_pool.disconnect(inuse_connections=False)
        entry = result[1] if isinstance(result, list) else result
        self._check_durable([text(entry)], acked)
        return result

    def _check_durable(self, ids: list[str], acked: Any) -> None:
        if int(acked) < self.durable_replicas:
            raise NotDurable(ids, int(acked), self.durable_replicas, self.durable_timeout_ms)

    async def _register(self) -> None:
        if not self._registered:
            await self.client.sadd(REGISTRY, self.queue)  # type: ignore[misc]
            if self.priority:
                await self.client.sadd(self.keys.levels, self.priority)  # type: ignore[misc]
            self._registered = True

    async def _after_publish(self, count: int) -> None:
        if not self.trim:
            return
        self._published_since_trim += count
        if self._published_since_trim < self.trim_every:
            return
        self._published_since_trim = 0
        try:
            reply = await self._scripts.trim(
                keys=[self.keys.stream], args=trim_mod.args(True, self.maxlen)
            )
            trim_mod.parse_reply(self.queue, reply)
        except TrimRefused:
            pass  # no groups yet: nothing is known to be delivered, keep everything
        except redis.RedisError as exc:
            log.warning("trimming queue %r failed: %s", self.queue, exc)

    # ------------------------------------------------------------------ buffer mode

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
