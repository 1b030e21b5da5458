"""Producer: publish messages to a queue's stream (or its delayed set), loudly or not at all."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import redis

from queues import commands, delayed, entries
from queues import trim as trim_mod
from queues.backoff import Backoff
from queues.connection import (
    RedisLike,
    address,
    connect,
    is_cluster,
    socket_timeout,
    unavailable_as_error,
)
from queues.entries import text
from queues.exceptions import (
    BufferFull,
    ConfigurationError,
    NotDurable,
    QueueUnavailable,
    TrimRefused,
    UnflushedMessages,
)
from queues.keys import REGISTRY, queue_keys
from queues.notify import Published, ReplyListener
from queues.scripts import Scripts
from queues.serializers import Serializer, resolve
from queues.types import Completion

PIPELINE_CHUNK = 1_000

log = logging.getLogger(__name__)


#: Prefix of the id publish() returns for a message held in the buffer (not yet in Redis).
BUFFERED_PREFIX = "buffered:"


class Pending:
    """A publish held in the buffer while Redis is unavailable."""

    __slots__ = ("fields", "due", "dedup_key")

    def __init__(self, fields: entries.Fields, due: int | None, dedup_key: str | None) -> None:
        self.fields, self.due, self.dedup_key = fields, due, dedup_key


class Producer:
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

    def _send_one(self, fields: entries.Fields, due: int | None, dedup_key: str | None) -> str:
        with unavailable_as_error(self.address):
            try:
                self._register()
                if due is not None:
                    return self._schedule(fields, due, dedup_key)
                if dedup_key is not None:
                    _created, entry_id = self._write(
                        lambda c: self._scripts.publish(
                            *commands.publish_dedup_call(
                                self.keys, fields, dedup_key, self.dedup_window_ms
                            ),
                            client=c,
                        )
                    )
                    return text(entry_id)
                entry_id = text(self._write(lambda c: c.xadd(self.keys.stream, fields)))
            except redis.ConnectionError:
                self._registered = False  # a restarted server may have lost the registry
                raise
        self._after_publish(1)
        return entry_id

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

    def _send_many(self, encoded: list[entries.Fields]) -> list[str]:
        ids: list[str] = []
        with unavailable_as_error(self.address):
            try:
                self._register()
                for start in range(0, len(encoded), PIPELINE_CHUNK):
                    pipe = self.client.pipeline(transaction=False)
                    for fields in encoded[start : start + PIPELINE_CHUNK]:
                        pipe.xadd(self.keys.stream, fields)  # type: ignore[arg-type]
                    if self.durable:
                        pipe.wait(self.durable_replicas, self.durable_timeout_ms)
                    replies = pipe.execute()
                    if self.durable:
                        self._check_durable([text(i) for i in replies[:-1]], replies[-1])
                        replies = replies[:-1]
                    ids.extend(text(i) for i in replies)
            except redis.ConnectionError:
                self._registered = False
                raise
        self._after_publish(len(ids))
        return ids

    def _schedule(self, fields: entries.Fields, due: int, dedup_key: str | None) -> str:
        keys, args = commands.schedule_call(self.keys, fields, due, dedup_key, self.dedup_window_ms)
        _created, result = self._write(
            lambda c: self._scripts.schedule(keys=keys, args=args, client=c)
        )
        return text(result)

    def _write(self, command: Callable[[Any], Any]) -> Any:
        """Run one write on the client; when durable, pipelined with WAIT on the same
        connection (WAIT counts the replicas that have this connection's writes)."""
        if not self.durable:
            return command(self.client)
        for attempt in (1, 2, 3):
            pipe = self.client.pipeline(transaction=False)
            command(pipe)
            pipe.wait(self.durable_replicas, self.durable_timeout_ms)
            try:
                result, acked = pipe.execute()
                break
            except redis.exceptions.NoScriptError:
                # re-sent after a failover to a master without the script: it did not run,
                # so sending it again (the pipeline loads its scripts first) is safe
                if attempt == 3:
                    raise
            except redis.ResponseError as exc:
                # The master was demoted to a replica under us (SENTINEL FAILOVER): the write
                # was refused, or it is discarded when the old master resyncs from the new
                # one. Drop the idle connections to it and write again on the new master.
                if attempt == 3 or not demoted(exc):
                    raise
                if isinstance(self.client, redis.Redis):  # always: durable is refused on a cluster
                    self.client.connection_pool.disconnect(inuse_connections=False)
        entry = result[1] if isinstance(result, list) else result
        self._check_durable([text(entry)], acked)
        return result

    def _check_durable(self, ids: list[str], acked: Any) -> None:
        if int(acked) < self.durable_replicas:
            raise NotDurable(ids, int(acked), self.durable_replicas, self.durable_timeout_ms)

    def _register(self) -> None:
        if not self._registered:
            self.client.sadd(REGISTRY, self.queue)
            if self.priority:
                # so that Manager.info counts this level even before any consumer reads it
                self.client.sadd(self.keys.levels, self.priority)
            self._registered = True

    def _after_publish(self, count: int) -> None:
        if not self.trim:
            return
        with self._lock:
            self._published_since_trim += count
            if self._published_since_trim < self.trim_every:
                return
            self._published_since_trim = 0
        try:
            reply = self._scripts.trim(
                keys=[self.keys.stream], args=trim_mod.args(True, self.maxlen)
            )
            trim_mod.parse_reply(self.queue, reply)
        except TrimRefused:
            pass  # no groups yet: nothing is known to be delivered, keep everything
        except redis.RedisError as exc:
            # the messages are published; a failed housekeeping trim must not say otherwise
            log.warning("trimming queue %r failed: %s", self.queue, exc)

    # ------------------------------------------------------------------ buffer mode

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

    def __repr__(self) -> str:
        return f"<Producer {self.queue!r} at {self.address}>"


def check_args(
    *,
    on_unavailable: str,
    buffer_size: int,
    dedup_window: float,
    maxlen: int | None,
    durable: bool,
    durable_replicas: int,
    durable_timeout: float,
) -> None:
    """The argument checks of Producer and queues.aio.Producer: ValueError naming the bad one."""
    if on_unavailable not in ("raise", "buffer"):
        raise ValueError(f"on_unavailable must be 'raise' or 'buffer', got {on_unavailable!r}")
    if not isinstance(buffer_size, int) or buffer_size < 1:
        raise ValueError(f"buffer_size must be an integer >= 1, got {buffer_size!r}")
    if int(dedup_window * 1000) <= 0:
        raise ValueError("dedup_window must be positive")
    trim_mod.args(True, maxlen)  # validate now rather than on the thousandth publish
    if durable and (durable_replicas < 1 or int(durable_timeout * 1000) < 1):
        raise ValueError("durable publish needs durable_replicas >= 1 and a timeout")


def next_chunk(buffer: Iterable[Pending]) -> list[Pending]:
    """The head of a publish buffer to send next: a run of plain publishes (pipelined,
    at most PIPELINE_CHUNK) or one delayed or de-duplicated publish."""
    chunk: list[Pending] = []
    for item in buffer:
        plain = item.due is None and item.dedup_key is None
        if chunk and (not plain or len(chunk) >= PIPELINE_CHUNK):
            break
        chunk.append(item)
        if not plain:
            break
    return chunk


def chunk_replies(replies: list[Any], atomic: bool, size: int) -> list[Any]:
    """The reply of each XADD of a flushed chunk (an id or the error Redis answered), from
    the pipeline's replies; ``atomic``: the XADDs were inside MULTI/EXEC."""
    if not atomic:
        return replies
    executed = replies[-1]
    if isinstance(executed, Exception):  # EXECABORT: nothing ran; say why
        first = next((r for r in replies[:-1] if isinstance(r, Exception)), executed)
        return [first] * size
    return list(executed)


def flush_outcome(
    replies: list[Any], acked: Any, replicas: int, timeout_ms: int
) -> tuple[list[bool], list[str], BaseException | None]:
    """Which messages of a flushed chunk landed, their ids, and the first error (Redis's
    refusal, WAIT's error, or NotDurable when too few replicas confirmed)."""
    landed = [not isinstance(reply, Exception) for reply in replies]
    ids = [text(reply) for reply in replies if not isinstance(reply, Exception)]
    error = next((reply for reply in replies if isinstance(reply, Exception)), None)
    if error is None and isinstance(acked, Exception):
        error = acked
    elif error is None and acked is not None and int(acked) < replicas:
        error = NotDurable(ids, int(acked), replicas, timeout_ms)
    return landed, ids, error


def report_flush_error(
    queue: str, previous: BaseException | None, error: BaseException | None
) -> None:
    """Log why a buffer flush failed, once per distinct error."""
    if error is None or (
        previous is not None and (type(previous), str(previous)) == (type(error), str(error))
    ):
        return
    if isinstance(error, QueueUnavailable):
        log.debug("producer of %r: flush failed, retrying: %s", queue, error)
    elif isinstance(error, NotDurable):
        log.warning("producer of %r: buffered messages flushed but %s", queue, error)
    else:
        log.warning(
            "producer of %r: Redis refused buffered messages; they stay buffered and are "
            "tried again: %s: %s",
            queue,
            type(error).__name__,
            error,
        )


def demoted(exc: redis.ResponseError) -> bool:
    """True when a reply says the server we wrote to is a replica now."""
    return isinstance(exc, redis.exceptions.ReadOnlyError) or "used with replica" in str(exc)
