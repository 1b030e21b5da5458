"""Consumer: read a queue through a consumer group and hand each message to a handler.

Threads of one running consumer:
- the caller's thread runs the loop: run a bounded claim-scan step when due (time-gated),
  read new entries (blocking), hand them on;
- a mover thread moves due delayed tickets into the stream at their due time (or every
  ``move_interval`` to learn of new ones). It is a thread of its own because a blocking
  XREADGROUP cannot time out more precisely than Redis's ``hz`` tick (100 ms by default),
  while an ``Event.wait`` can; a moved entry wakes the blocked read at once;
- with ``concurrency=1`` the loop thread runs the handler itself (no hand-off between
  threads) and sends the batch's acknowledgements in the same round trip as its next read,
  which goes out before a full batch is handled (read-ahead);
  with more, ``concurrency`` worker threads run the handler, then acknowledge, park for a
  retry or dead-letter the entry;
- one heartbeat thread flushes acknowledgements every ``ack_interval`` and keeps in-flight
  entries fresh so that no other consumer claims a message whose handler is still running.

All state that must survive a crash lives in Redis: the pending entries list (with its
delivery counter), parked retries and their tickets, dead letters.
"""

from __future__ import annotations

import logging
import queue as queue_mod
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import redis

from queues import batching, claims, commands, deadletter, entries, events, freshness, readahead
from queues.backoff import Backoff
from queues.commands import Delivery
from queues.connection import (
    UNAVAILABLE_ERRORS,
    RedisLike,
    address,
    connect,
    socket_timeout,
    unavailable_as_error,
)
from queues.consumer import timing
from queues.consumer.config import ConsumerConfig, check_handler
from queues.entries import text
from queues.exceptions import (
    AlreadyProcessed,
    GroupLost,
    OrderedConsumerActive,
    QueueUnavailable,
)
from queues.guard import ProcessingGuard
from queues.health import evicts_keys
from queues.keys import REGISTRY, queue_keys
from queues.scripts import Scripts
from queues.serializers import JSON, Serializer, resolve
from queues.types import Message

log = logging.getLogger(__name__)

Handler = Callable[[Message], object]

TOUCH_CHUNK = 500


def is_nogroup(exc: BaseException) -> bool:
    """True for the error Redis gives when the group (or the whole stream) is gone."""
    return isinstance(exc, redis.ResponseError) and "NOGROUP" in str(exc)


@dataclass
class ConsumerStats:
    """Counters of one Consumer object (since it was created)."""

    processed: int = 0  # handler returned, entry acknowledged
    failed: int = 0  # handler raised
    retried: int = 0  # parked for a retry
    dead_lettered: int = 0
    claimed: int = 0  # taken over from other consumers or released retries
    duplicates: int = 0  # deliveries skipped: already processed (AlreadyProcessed) or guarded
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, count: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + count)


#: What _process did with an entry: the handler returned (ack), the entry was meant for
#: another group (ack, not counted), or it was settled otherwise (retry / dead letter).
PROCESSED, SKIPPED, SETTLED = 1, 2, 0
#: Ordered mode only: the handler raised and the entry stays pending for a retry in place.
FAILED = -1
#: The consumer shut down while the handler ran: its outcome is dropped (the entry stays
#: pending for another consumer), since nothing may be written after run() returns.
ABANDONED = -2


class Consumer:
    """Consumes one queue as a member of one consumer group.

    ``run()`` blocks until ``stop()``, SIGTERM or SIGINT (when run in the main thread) and
    then finishes the messages it already holds; ``run(burst=True)`` processes what is
    available now (new, claimable and due entries) and returns. A handler that returns
    acknowledges the message; one that raises sends it to a retry with backoff, and after
    ``max_deliveries`` to the dead-letter stream. ``stop()`` is thread-safe.

    With ``concurrency=1`` it reads the next batch while handling a full one (``read_ahead``,
    see queues/readahead.py), so it holds up to twice ``batch_size`` messages. Without a
    ``batch_size`` each read is sized from the measured handler time (queues/batching.py).
    """

    def __init__(
        self,
        queue: str,
        group: str,
        handler: Handler,
        redis: RedisLike,
        *,
        name: str | None = None,
        claim_idle: float = 30.0,
        max_deliveries: int = 5,
        concurrency: int = 1,
        batch_size: int | None = None,
        block_ms: int = 1_000,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        backoff_jitter: float = 0.1,
        claim_interval: float | None = None,
        claim_batch: int = 100,
        heartbeat_interval: float | None = None,
        ack_interval: float = 0.05,
        start_id: str = "0",
        serializer: Serializer | None = None,
        shutdown_timeout: float | None = 60.0,
        handler_timeout: float | None = None,
        handle_signals: bool = True,
        move_batch: int = 100,
        move_interval: float = 0.2,
        ordered: bool = False,
        on_active: str = "wait",
        lock_ttl: float | None = None,
        priorities: int = 1,
        level: int = 0,
        read_ahead: bool = True,
        guard: bool = False,
        max_payload_bytes: int | None = entries.MAX_PAYLOAD_BYTES,
        on_group_lost: str = "recreate",
    ) -> None:
        check_handler(handler)
        config = ConsumerConfig(
            queue=queue,
            group=group,
            name=name,
            claim_idle=claim_idle,
            max_deliveries=max_deliveries,
            concurrency=concurrency,
            batch_size=batch_size,
            block_ms=block_ms,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            backoff_jitter=backoff_jitter,
            claim_interval=claim_interval,
            claim_batch=claim_batch,
            heartbeat_interval=heartbeat_interval,
            ack_interval=ack_interval,
            start_id=start_id,
            serializer=serializer,
            shutdown_timeout=shutdown_timeout,
            handler_timeout=handler_timeout,
            handle_signals=handle_signals,
            move_batch=move_batch,
            move_interval=move_interval,
            ordered=ordered,
            on_active=on_active,
            lock_ttl=lock_ttl,
            priorities=priorities,
            level=level,
            read_ahead=read_ahead,
            guard=guard,
            max_payload_bytes=max_payload_bytes,
            on_group_lost=on_group_lost,
        )
        self.config = config
        name = config.consumer_name
        # what a priority level's engine is built with (see priorities=)
        self._settings: dict[str, Any] = {
            "name": name,
            "claim_idle": claim_idle,
            "max_deliveries": max_deliveries,
            "concurrency": concurrency,
            "batch_size": batch_size,
            "block_ms": block_ms,
            "backoff_base": backoff_base,
            "backoff_max": backoff_max,
            "backoff_jitter": backoff_jitter,
            "claim_interval": claim_interval,
            "claim_batch": claim_batch,
            "heartbeat_interval": heartbeat_interval,
            "ack_interval": ack_interval,
            "start_id": start_id,
            "serializer": serializer,
            "shutdown_timeout": shutdown_timeout,
            "handler_timeout": handler_timeout,
            "handle_signals": False,
            "move_batch": move_batch,
            "move_interval": move_interval,
            "guard": guard,
            "max_payload_bytes": max_payload_bytes,
            "on_group_lost": on_group_lost,
        }
        self.queue = queue
        #: The priority level this consumer reads (0: the main stream).
        self.level = level
        self.priorities = priorities
        self.keys = queue_keys(queue, level)
        self.group = group
        self.name = name
        self.handler = handler
        self.client = connect(redis)
        self._owns_client = self.client is not redis
        self.address = address(self.client)
        # a blocking read must return before the socket read gives up on it
        self.block_ms = timing.capped_block_ms(block_ms, socket_timeout(self.client))
        self.claim_idle = claim_idle
        self.max_deliveries = max_deliveries
        self.concurrency = concurrency
        #: batch_size=None: each read sized from the measured handler time (queues/batching.py)
        self._sizer = batching.BatchSizer(batch_size, concurrency=concurrency)
        self._ahead_count = 0  # the COUNT of the read-ahead in flight
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.backoff_jitter = backoff_jitter
        self.claim_batch = claim_batch
        self.heartbeat_interval = config.heartbeat_seconds
        self.ack_interval = ack_interval
        self.start_id = start_id
        self.shutdown_timeout = shutdown_timeout
        #: Seconds the heartbeat keeps a held message fresh; after that a stuck handler's
        #: message becomes claimable by others. None: as long as the handler runs.
        self.handler_timeout = handler_timeout
        self.handle_signals = handle_signals
        self.move_batch = move_batch
        #: Seconds between two runs of the mover at most, busy or idle: the bound on how late
        #: a delayed message nobody knew about yet is moved (known ones move when due).
        self.move_interval = move_interval
        #: concurrency=1: the loop thread runs the handler itself.
        self._inline = concurrency == 1
        #: monotonic time the next known ticket is due (written by the mover thread)
        self._next_due_at: float | None = None
        self._rescan = threading.Event()  # retries were released: scan from the start
        self._mover: threading.Thread | None = None
        self._mover_stop = threading.Event()
        #: Ordered mode: one active consumer per group, holding an expiring lock.
        self.ordered = ordered
        self.on_active = on_active
        self.lock_ttl = config.lock_seconds
        self._lock_key = self.keys.ordered_lock(self.group)
        self._holding = False
        self._lock_confirmed_at = 0.0  # monotonic time Redis last said this one holds it
        self._own_pending = True
        #: ordered mode: the failure that holds the oldest entry (delivery, delay, error)
        self._ordered_failure: tuple[int, float, Exception] | None = None
        self._waiting_for = ""
        #: With priorities=N: one engine per level, highest first (this object is level 0).
        self._engines: list[Consumer] = [self]
        if priorities > 1:
            self._engines = [
                Consumer(queue, group, handler, self.client, **{**self._settings, "level": lvl})
                for lvl in range(priorities - 1, 0, -1)
            ] + [self]
        self.serializer = resolve(serializer)
        self._serializers = entries.serializer_map(JSON, self.serializer)
        self._prepare = commands.preparer(
            queue=queue,
            group=self.group,
            max_deliveries=max_deliveries,
            serializers=self._serializers,
            max_payload_bytes=max_payload_bytes,
        )
        self._scripts = Scripts(self.client)
        self._claims = claims.ClaimScan(
            claim_idle_ms=int(claim_idle * 1000),
            interval=config.claim_every,
        )
        #: maxmemory-policy of the server, read at start-up (None if CONFIG is disabled).
        self.eviction_policy: str | None = None
        self.stats = ConsumerStats()
        #: guard=True: a processing token per message while its handler runs (queues/guard.py)
        self._guard = (
            ProcessingGuard(
                self.keys,
                self.group,
                self.name,
                int(claim_idle * 2000),
            )
            if guard
            else None
        )

        self._stop = threading.Event()
        #: A second signal: stop at once, leaving held entries pending for other consumers.
        self._abort = threading.Event()
        #: Shut down without waiting for every handler: no handler starts any more, and the
        #: outcome of one still running in a worker thread is dropped.
        self._closed = threading.Event()
        #: Past the waiting part of the shutdown: a signal no longer raises (it would cut
        #: the flush of acknowledgements and the release of the ordered lock short).
        self._closing = False
        self._cond = threading.Condition()
        #: Held entries: id -> monotonic time its handler started, None while it waits its
        #: turn (see queues/freshness.py: handler_timeout counts from the handler's start).
        self._inflight: dict[str, float | None] = {}
        #: concurrency=1 on one server: the next read goes out before a full batch is
        #: handled (see queues/readahead.py). Not with priorities or ordered: the batch
        #: read ahead would be handled before a newer higher-priority or retried entry.
        self._ahead = (
            readahead.for_client(self.client)
            if read_ahead and self._inline and not ordered and priorities == 1 and level == 0
            else None
        )
        self.read_ahead = self._ahead is not None
        self._ahead_lock = threading.Lock()
        self._ahead_acks: list[str] = []  # acknowledgements sent with the read-ahead
        self._ahead_sent = 0.0
        #: Entries the read-ahead delivered, not yet handed on: held, kept fresh by the
        #: heartbeat like in-flight ones.
        self._stash: list[Delivery] = []
        self._acks: list[str] = []
        self._work: queue_mod.SimpleQueue[Delivery | None] = queue_mod.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._heartbeat: threading.Thread | None = None
        self._heartbeat_stop = threading.Event()
        self._running = False
        self._ready = False
        self._group_seen = False
        #: What to do when the group vanishes under this consumer: see _start_up.
        self.on_group_lost = on_group_lost
        self._last_read: str | None = None  # the newest id read from the stream (">")

    # ------------------------------------------------------------------ public API

    def run(self, burst: bool = False) -> None:
        """Consume until stopped (or, with ``burst``, until nothing is available now).

        Blocking. In the main thread, SIGTERM and SIGINT stop it gracefully: no more reads,
        in-flight messages finish and are acknowledged. A second signal stops at once: the
        handler running in the loop thread is interrupted, what the consumer holds stays
        pending for other consumers, and run() raises KeyboardInterrupt. After run() returns
        no handler starts and no outcome is written (see _shut_down).
        """
        with self._cond:
            if self._running:
                raise RuntimeError(f"consumer {self.name!r} is already running")
            self._running = True
        for engine in self._engines:
            engine._stop.clear()
            engine._abort.clear()
            engine._closed.clear()
            engine._closing = False
        restore = self._install_signal_handlers()
        try:
            for engine in self._engines:
                engine._start_threads(mover=not burst)
            if len(self._engines) > 1:
                self._run_priorities(burst)
            elif self.ordered:
                self._run_ordered(burst)
            elif burst:
                self._run_burst()
            else:
                self._run_forever()
        finally:
            try:
                for engine in self._engines:
                    if engine is not self:
                        if self._abort.is_set():
                            engine._abort.set()
                        engine._stop.set()
                        engine._shut_down()
                self._shut_down()
            finally:
                restore()
                with self._cond:
                    self._running = False
        if self._abort.is_set():
            # the second signal arrived during the shutdown itself: interrupt all the same
            raise KeyboardInterrupt

    def stop(self) -> None:
        """Ask a running consumer to stop after its in-flight messages (thread-safe)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    @property
    def batch_size(self) -> int:
        """Entries asked for by the next read (fixed, or adapted: see queues/batching.py)."""
        return self._sizer.size

    @property
    def prefetch(self) -> int:
        return max(self._sizer.size, self.concurrency)

    @property
    def running(self) -> bool:
        return self._running

    @property
    def ready(self) -> bool:
        """True once a running consumer has joined its group (start-up done)."""
        return self._running and self._ready

    def close(self) -> None:
        """Release the connections of a client the consumer created from a URL."""
        if self._owns_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"<Consumer {self.name!r} of {self.queue!r}/{self.group!r} at {self.address}>"

    # ------------------------------------------------------------------ loops

    def _run_forever(self) -> None:
        backoff = Backoff(base=0.1, cap=2.0)
        while not self._stop.is_set():
            try:
                if not self._ready:
                    self._start_up()
                self._turn(block=True)
                if backoff.failures:
                    log.info("consumer %s: Redis at %s answers again", self.name, self.address)
                backoff.reset()
            except GroupLost:
                raise
            except redis.ResponseError as exc:
                if is_nogroup(exc):
                    log.warning(
                        "consumer %s: group %r of queue %r is gone (%s); on_group_lost=%r",
                        self.name,
                        self.group,
                        self.queue,
                        exc,
                        self.on_group_lost,
                    )
                    self._ready = False
                    continue
                log.exception("consumer %s: unexpected Redis error", self.name)
                self._stop.wait(backoff.next())
            except UNAVAILABLE_ERRORS as exc:
                delay = backoff.next()
                log.warning(
                    "consumer %s: Redis at %s unavailable (%s); retrying in %.2fs",
                    self.name,
                    self.address,
                    exc,
                    delay,
                )
                self._stop.wait(delay)
            except Exception:
                log.exception("consumer %s: unexpected error in the consumer loop", self.name)
                self._stop.wait(backoff.next())

    def _run_priorities(self, burst: bool) -> None:
        """Several priority levels: each turn reads every level, higher levels first, with
        a guaranteed weighted share (level L weighs 2**L) and spare capacity going to the
        highest level that has more, so low levels slow down but never starve."""
        backoff = Backoff(base=0.1, cap=2.0)
        weights = [2**engine.level for engine in self._engines]
        total = sum(weights)
        shares = [max(1, self.batch_size * w // total) for w in weights]
        if burst:
            for engine in self._engines:
                engine._claims.rescan_now()
        while not self._stop.is_set():
            try:
                for engine in self._engines:
                    if not engine._ready:
                        engine._start_up()
                found = 0
                for engine in self._engines:
                    if burst:
                        found += engine._move_due()[0]
                    if engine._rescan.is_set():
                        engine._rescan.clear()
                        engine._claims.rescan_now()
                    if engine._claims.due(time.monotonic()):
                        found += engine._claim(engine._wait_free())
                room = self.batch_size
                for engine, share in zip(self._engines, shares, strict=True):
                    got = engine._read(min(share, engine._wait_free()), None)
                    found += got
                    room -= got
                for engine in self._engines:  # spare room: highest level with more first
                    if room <= 0:
                        break
                    got = engine._read(min(room, engine._wait_free()), None)
                    found += got
                    room -= got
                if found == 0:
                    if burst:
                        for engine in self._engines:
                            engine._wait_idle(None)
                            engine._flush_acks()
                        return
                    self._block_on_all_levels()
                backoff.reset()
            except redis.ResponseError as exc:
                if is_nogroup(exc):
                    for engine in self._engines:
                        engine._ready = False
                    continue
                if burst:
                    raise
                log.exception("consumer %s: unexpected Redis error", self.name)
                self._stop.wait(backoff.next())
            except UNAVAILABLE_ERRORS as exc:
                if burst:
                    raise QueueUnavailable(self.address, str(exc)) from exc
                log.warning(
                    "consumer %s: Redis at %s unavailable (%s)", self.name, self.address, exc
                )
                self._stop.wait(backoff.next())

    def _block_on_all_levels(self) -> None:
        """Nothing anywhere: one blocking XREADGROUP over every level's stream."""
        now = time.monotonic()
        limits = [
            timing.block_for(
                self.block_ms, now, claim_at=engine._claims.next_at, due_at=engine._next_due_at
            )
            for engine in self._engines
        ]
        if None in limits:
            return
        limit = min(limit for limit in limits if limit is not None)
        by_stream = {engine.keys.stream: engine for engine in self._engines}
        reply: Any = self.client.xreadgroup(
            self.group, self.name, dict.fromkeys(by_stream, ">"), count=1, block=int(limit)
        )
        for stream, rows in reply or []:
            engine = by_stream[text(stream)]
            deliveries = [Delivery(text(i), f or {}, 1) for i, f in rows]
            engine._last_read = commands.newest_read(engine._last_read, deliveries)
            engine._dispatch(deliveries)

    def _run_ordered(self, burst: bool) -> None:
        """Ordered mode: hold the group's lock, take over inactive predecessors' pending
        entries, then handle everything strictly in id order, one at a time."""
        backoff = Backoff(base=0.1, cap=2.0)
        self._holding = False
        self._own_pending = True
        while not self._stop.is_set():
            try:
                if not self._ready:
                    self._start_up()
                if not self._holding and not self._acquire_order_lock(burst):
                    continue
                if self._own_pending:
                    if self._ordered_batch(self._read_own()) == 0:
                        self._own_pending = False
                    continue
                found = self._ordered_batch(self._read_new(None if burst else self.block_ms))
                if burst and found == 0 and not self._own_pending:
                    return
                backoff.reset()
            except (OrderedConsumerActive, GroupLost):
                raise
            except redis.ResponseError as exc:
                if is_nogroup(exc):
                    self._ready = False
                    continue
                if "NOTHOLDER" in str(exc):
                    self._holding = False
                    continue
                if burst:
                    raise
                log.exception("consumer %s: unexpected Redis error", self.name)
                self._stop.wait(backoff.next())
            except UNAVAILABLE_ERRORS as exc:
                if burst:
                    raise QueueUnavailable(self.address, str(exc)) from exc
                delay = backoff.next()
                log.warning(
                    "consumer %s: Redis at %s unavailable (%s); retrying in %.2fs",
                    self.name,
                    self.address,
                    exc,
                    delay,
                )
                self._stop.wait(delay)

    def _acquire_order_lock(self, burst: bool) -> bool:
        holder = text(
            self._scripts.ordered_lock(
                keys=[self._lock_key], args=[self.name, int(self.lock_ttl * 1000), "0"]
            )
        )
        if holder != self.name:
            if self.on_active == "exit":
                raise OrderedConsumerActive(self.queue, self.group, holder)
            if holder != self._waiting_for:  # say it once per holder, not every poll
                self._waiting_for = holder
                log.info(
                    "consumer %s: %r is the active consumer of ordered group %r; waiting",
                    self.name,
                    holder,
                    self.group,
                )
            self._stop.wait(min(1.0, self.lock_ttl / 3))
            return False
        self._holding = True
        self._lock_confirmed_at = time.monotonic()
        # the predecessors lost the lock, so none of them works any more: take all they hold
        keys, args = commands.ordered_takeover_call(
            self.keys, self._lock_key, self.group, self.name
        )
        while True:
            step = commands.read_takeover(self._scripts.ordered_takeover(keys=keys, args=args))
            if step.taken:
                self.stats.add("claimed", step.taken)
                log.warning(
                    "consumer %s: took over %d pending entries of inactive predecessors",
                    self.name,
                    step.taken,
                )
            if step.dead_lettered:  # their data was trimmed away: nothing left to handle
                self.stats.add("dead_lettered", step.dead_lettered)
            if step.done:
                break
        self._own_pending = True
        return True

    def _read_own(self) -> list[Delivery]:
        """This consumer's oldest pending entry, re-delivered (counter + 1). One at a time:
        the entries behind a failing one must not count a delivery per retry of it."""
        while True:
            rows = self.client.xpending_range(
                self.keys.stream, self.group, "-", "+", 1, consumername=self.name
            )
            if not rows:
                return []
            entry_id = text(rows[0]["message_id"])
            deliveries = int(rows[0]["times_delivered"])
            if not self.client.xrange(self.keys.stream, entry_id, entry_id):
                # its data was trimmed away: dead-lettered with its id, as the claim scan does,
                # so that it does not vanish unseen (XCLAIM would drop it from the list)
                self._dead_letter(
                    Delivery(entry_id, {}, deliveries),
                    deadletter.TRIMMED,
                    "entry data was deleted before it was acknowledged",
                    "",
                )
                continue
            claimed: list[Any] = self.client.xclaim(  # type: ignore[assignment]
                self.keys.stream, self.group, self.name, 0, [entry_id]
            )
            if claimed and claimed[0][1] is not None:
                return [Delivery(entry_id, claimed[0][1], deliveries + 1)]
            # trimmed between the two calls: XCLAIM dropped it from the pending list, so it
            # is dead-lettered without the ownership check, not left to vanish unseen
            keys, args = commands.dead_letter_call(
                self.keys,
                self.queue,
                self.group,
                entry_id,
                self.name,
                deliveries,
                deadletter.TRIMMED,
                "entry data was deleted before it was acknowledged",
                "",
                owned_only=False,
            )
            if self._scripts.dead_letter(keys=keys, args=args):
                self.stats.add("dead_lettered")

    def _read_new(self, block_ms: int | None) -> list[Delivery]:
        reply: list[Any] = self.client.xreadgroup(  # type: ignore[assignment]
            self.group, self.name, {self.keys.stream: ">"}, count=self.batch_size, block=block_ms
        )
        rows = commands.read_rows(reply)
        self._last_read = commands.newest_read(self._last_read, rows)
        return rows

    def _ordered_batch(self, batch: list[Delivery]) -> int:
        """Handle ``batch`` in order; stop at a failure (it and the rest stay pending)."""
        acks: list[str] = []
        try:
            for work in batch:
                if not self._still_holding():
                    # a successor took the group: the rest stays pending, and it takes it over
                    break
                with self._cond:
                    self._inflight[work.id] = time.monotonic()  # for handler_timeout
                try:
                    outcome = self._process(work)
                finally:
                    with self._cond:
                        self._inflight.pop(work.id, None)
                if outcome == FAILED:
                    deliveries, delay, exc = self._ordered_failure or (work.deliveries, 0.0, None)
                    log.warning(
                        "consumer %s: handler failed on %s (delivery %d of %d): %s; ordered: "
                        "retrying it in %.2fs before anything newer",
                        self.name,
                        work.id,
                        deliveries,
                        self.max_deliveries,
                        deadletter.describe(exc) if exc else "?",
                        delay,
                    )
                    self._own_pending = True
                    self._stop.wait(delay)
                    break
                if outcome > 0:
                    acks.append(work.id)
                    if outcome == PROCESSED:
                        self.stats.add("processed")
        finally:
            if acks:
                self.client.xack(self.keys.stream, self.group, *acks)
        return len(batch)

    def _still_holding(self) -> bool:
        """Whether this consumer may start the next handler of its ordered group: asks Redis
        when the heartbeat has not confirmed the lock lately (it does not while a handler is
        stuck past handler_timeout, so that the lock expires)."""
        if self._holding and time.monotonic() - self._lock_confirmed_at >= self.lock_ttl / 2:
            self._refresh_order_lock()
        return self._holding

    def _handler_overdue(self) -> bool:
        """A handler has run longer than handler_timeout."""
        if self.handler_timeout is None:
            return False
        oldest = time.monotonic() - self.handler_timeout
        with self._cond:
            return any(since is not None and since < oldest for since in self._inflight.values())

    def _run_burst(self) -> None:
        with unavailable_as_error(self.address):
            self._start_up()
            while not self._stop.is_set():
                found, _ = self._move_due()
                self._rescan.clear()
                self._claims.cursor = "-"
                while not self._stop.is_set():
                    free = self._wait_free()
                    if free:
                        found += self._claim(free)
                    if self._claims.cursor == "-":
                        break
                while not self._stop.is_set():
                    free = self._wait_free()
                    read = self._read(free, None) if free else 0
                    found += read
                    if read == 0:
                        break
                self._wait_idle(None)
                self._flush_acks()
                if found == 0:
                    break

    def _turn(self, *, block: bool) -> int:
        """One loop turn: move due tickets and run a claim step when their time has come,
        then read new entries (blocking at most until the next of those is due)."""
        found = 0
        if self._rescan.is_set():
            self._rescan.clear()
            self._claims.rescan_now()
        free = self._free()
        if free and self._claims.due(time.monotonic()):
            found += self._claim(free)
            free = self._free()
        if free == 0:
            with self._cond:
                self._cond.wait(self.block_ms / 1000)
            return found
        block_ms: int | None = None
        if block and found == 0:
            block_ms = timing.block_for(
                self.block_ms,
                time.monotonic(),
                claim_at=self._claims.next_at,
                due_at=self._next_due_at,
            )
        return found + self._read(free, block_ms)

    # ------------------------------------------------------------------ Redis steps

    def _start_up(self) -> None:
        start = self.start_id
        if self._group_seen:
            # the group vanished under this consumer (XGROUP DESTROY, or a restart that lost
            # the data): stop, or re-create it where nothing acknowledged is replayed
            if self.on_group_lost == "stop" and not self._group_exists():
                raise GroupLost(self.queue, self.group)
            start = commands.recreate_start(
                last_read=self._last_read,
                start_id=self.start_id,
                stream_exists=bool(self.client.exists(self.keys.stream)),
            )
        try:
            created = self.client.xgroup_create(
                self.keys.stream, self.group, id=start, mkstream=True
            )
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            created = False
        if created:
            self.client.xadd(
                self.keys.events,
                commands.group_created_fields(  # type: ignore[arg-type]
                    self.queue,
                    recreated=self._group_seen,
                    group=self.group,
                    consumer=self.name,
                    start=start,
                    now_ms=int(time.time() * 1000),
                ),
                # no MAXLEN: a blind cap would drop events the dashboard has not read;
                # the next event a script writes trims the stream safely (_events.lua)
            )
        self._group_seen = True
        self.client.sadd(REGISTRY, self.queue)
        if self.level:
            self.client.sadd(self.keys.levels, self.level)
        self._sweep_replies()
        if self.eviction_policy is None:
            self._check_eviction()
        self._ready = True

    def _group_exists(self) -> bool:
        try:
            rows = self.client.xinfo_groups(self.keys.stream)
        except redis.ResponseError:
            return False  # no stream: no group either
        return commands.has_group(rows, self.group)

    def _check_eviction(self) -> None:
        try:
            reply = self.client.config_get("maxmemory-policy")
        except redis.ResponseError:
            return  # CONFIG is disabled on many managed services; nothing to check
        self.eviction_policy = text(reply.get("maxmemory-policy")) or None
        if evicts_keys(self.eviction_policy):
            log.warning(
                "Redis at %s has maxmemory-policy %s: under memory pressure it may evict the "
                "streams of queue %r and lose messages; use noeviction (or volatile-*)",
                self.address,
                self.eviction_policy,
                self.queue,
            )

    def _mover_main(self) -> None:
        backoff = Backoff(base=0.1, cap=2.0)
        wait = 0.0
        while not self._mover_stop.wait(wait):
            try:
                moved, next_due = self._move_due()
            except UNAVAILABLE_ERRORS as exc:
                wait = backoff.next()
                log.debug("consumer %s: mover could not reach Redis: %s", self.name, exc)
                continue
            except Exception:
                wait = backoff.next()
                log.exception("consumer %s: moving due delayed messages failed", self.name)
                continue
            backoff.reset()
            self._next_due_at = None if next_due is None else time.monotonic() + next_due
            wait = timing.mover_wait(
                moved, next_due, move_batch=self.move_batch, move_interval=self.move_interval
            )

    def _move_due(self) -> tuple[int, float | None]:
        """Move due delayed tickets; return (moved, seconds until the next ticket is due).

        Released retries are taken by the claim scan, so it runs on the next turn from the
        start of the pending list instead of waiting for claim_interval."""
        keys, args = commands.move_due_call(self.keys, self.move_batch)
        moved = commands.read_move_due(self._scripts.move_due(keys=keys, args=args))
        if moved.released:
            self._rescan.set()
        return moved.moved, moved.next_due

    def _claim(self, free: int) -> int:
        # entries handled but not yet acknowledged are neither held nor safe from the scan
        self._flush_acks()
        with self._cond:
            held = [*self._inflight, *(work.id for work in self._stash)]
        reply = self._scripts.claim(
            keys=self._claims.keys(self.keys),
            args=self._claims.args(
                self.group,
                self.name,
                min(free, self.claim_batch),
                self.queue,
                events.MAX_EVENTS,
                held,
            ),
        )
        result = claims.parse_reply(reply)
        self._claims.advance(result, time.monotonic())
        if result.claimed:
            self.stats.add("claimed", len(result.claimed))
            self._dispatch(Delivery(e.id, e.fields, e.deliveries) for e in result.claimed)
        if result.dead_lettered:
            self.stats.add("dead_lettered", result.dead_lettered)
        return len(result.claimed) + result.dead_lettered

    def _read(self, count: int, block_ms: int | None) -> int:
        if self._ahead is not None and (self._ahead.pending or self._stash):
            self._collect_ahead()
            with self._cond:
                rows, self._stash = self._stash, []
            count = self._ahead_count
        else:
            rows = self._read_now(count, block_ms)
        self._last_read = commands.newest_read(self._last_read, rows)
        full = len(rows) >= self.batch_size
        with self._cond:
            self._sizer.read(count, len(rows))
        if self._ahead is not None and full and not self._stop.is_set():
            self._send_ahead()
        self._dispatch(rows)
        return len(rows)

    def _read_now(self, count: int, block_ms: int | None) -> list[Delivery]:
        acks = self._take_acks() if self._inline else []
        if acks:
            # the acknowledgements of the last batch ride along with the next read: one
            # round trip per batch; Redis runs the XACK before the (maybe blocking) read
            pipe = self.client.pipeline(transaction=False)
            pipe.xack(self.keys.stream, self.group, *acks)
            pipe.xreadgroup(
                self.group, self.name, {self.keys.stream: ">"}, count=count, block=block_ms
            )
            try:
                _acked, reply = pipe.execute()
            except BaseException:
                self._return_acks(acks)  # acks are idempotent: send them again later
                raise
        else:
            reply = self.client.xreadgroup(
                self.group, self.name, {self.keys.stream: ">"}, count=count, block=block_ms
            )
        return commands.read_rows(reply)

    def _send_ahead(self) -> None:
        """Send the next read (never blocking) with the acknowledgements waiting so far.
        A failure here is not raised: the batch in hand must be handled first, and the
        next ordinary read meets the same failure."""
        assert self._ahead is not None
        with self._ahead_lock:
            acks = self._take_acks()
            sent: list[tuple[Any, ...]] = []
            if acks:
                sent.append(("XACK", self.keys.stream, self.group, *acks))
            sent.append(
                (
                    "XREADGROUP", "GROUP", self.group, self.name,
                    "COUNT", self.batch_size, "STREAMS", self.keys.stream, ">",
                )
            )  # fmt: skip
            try:
                self._ahead.send(sent)
            except redis.RedisError as exc:
                self._return_acks(acks)
                log.debug("consumer %s: could not read ahead: %s", self.name, exc)
                return
            self._ahead_acks = acks
            self._ahead_sent = time.monotonic()
            self._ahead_count = self.batch_size

    def _collect_ahead(self) -> None:
        """Take the read-ahead's reply into the stash (idempotent, thread-safe). The loop
        does it before its next read; the heartbeat does it when a slow batch keeps the
        reply waiting, so that the entries it delivered are kept fresh meanwhile."""
        assert self._ahead is not None
        with self._ahead_lock:
            if not self._ahead.pending:
                return
            acks, self._ahead_acks = self._ahead_acks, []
            try:
                replies = self._ahead.receive()
            except BaseException:
                # the entries it may have delivered stay pending: claimed after claim_idle
                self._return_acks(acks)
                raise
            rows = commands.read_rows(replies[-1])
            with self._cond:
                self._stash.extend(rows)

    def _take_acks(self) -> list[str]:
        with self._cond:
            ids, self._acks = self._acks, []
        return ids

    def _return_acks(self, ids: list[str]) -> None:
        with self._cond:
            self._acks[:0] = ids

    def _flush_acks(self) -> None:
        ids = self._take_acks()
        if not ids:
            return
        try:
            self.client.xack(self.keys.stream, self.group, *ids)
        except BaseException:
            self._return_acks(ids)  # acks are idempotent: send them again later
            raise

    def _touch(self) -> None:
        with self._cond:
            fresh = freshness.to_refresh(
                self._inflight,
                [work.id for work in self._stash],
                now=time.monotonic(),
                handler_timeout=self.handler_timeout,
                slots=self.concurrency,
            )
        ids = fresh.ids
        if fresh.stuck:
            log.warning(
                "consumer %s: %d handlers running longer than handler_timeout=%ss; their "
                "messages (and %d waiting behind them) are no longer kept fresh: other "
                "consumers may claim them",
                self.name,
                fresh.stuck,
                self.handler_timeout,
                fresh.abandoned,
            )
        for start in range(0, len(ids), TOUCH_CHUNK):
            keys, args = commands.touch_call(
                self.keys, self.group, self.name, ids[start : start + TOUCH_CHUNK]
            )
            lost = self._scripts.touch(keys=keys, args=args)
            with self._cond:
                still = [text(i) for i in lost if text(i) in self._inflight]
            if still:
                log.warning(
                    "consumer %s: %d in-flight entries were claimed by another consumer "
                    "(this one was too slow to heartbeat): %s",
                    self.name,
                    len(still),
                    ", ".join(still[:10]),
                )

    # ------------------------------------------------------------------ work

    def _free(self) -> int:
        with self._cond:
            return max(0, self.prefetch - len(self._inflight))

    def _wait_free(self) -> int:
        with self._cond:
            while len(self._inflight) >= self.prefetch and not self._stop.is_set():
                self._cond.wait(0.1)
            return max(0, self.prefetch - len(self._inflight))

    def _wait_idle(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._inflight:
                remaining = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def _dispatch(self, items: Iterable[Delivery]) -> None:
        fresh: list[Delivery] = []
        with self._cond:
            for work in items:
                # an entry we already hold (our own, re-claimed) must not run twice here
                if work.id not in self._inflight:
                    self._inflight[work.id] = None
                    fresh.append(work)
        if self._inline:
            self._settle_inline(fresh)
            return
        for work in fresh:
            self._work.put(work)

    def _settle_inline(self, batch: list[Delivery]) -> None:
        """Run the handler on a batch in the loop thread. Acks and the in-flight register
        are updated once per batch, or every ack_interval while slow handlers run."""
        done: list[str] = []
        acks: list[str] = []
        processed = 0
        handed_at = started = time.monotonic()
        try:
            for work in batch:
                self._begin(work.id)
                try:
                    outcome = self._process(work)
                except KeyboardInterrupt:
                    raise  # a second SIGINT/SIGTERM while the handler runs
                except BaseException:
                    # A bad message never kills the loop (not even a handler calling
                    # sys.exit): the entry stays pending and is claimed again later.
                    log.exception("consumer %s: could not settle entry %s", self.name, work.id)
                    outcome = SETTLED
                done.append(work.id)
                if outcome > 0:
                    acks.append(work.id)
                    processed += outcome == PROCESSED
                if time.monotonic() - handed_at >= self.ack_interval:
                    self._hand_over(done, acks, processed)
                    done, acks, processed = [], [], 0
                    handed_at = time.monotonic()
        finally:
            self._hand_over(done, acks, processed)
            with self._cond:
                self._sizer.handled(len(batch), time.monotonic() - started)

    def _hand_over(self, done: list[str], acks: list[str], processed: int) -> None:
        # one lock: an id leaves the in-flight register when its ack is queued, so the
        # heartbeat never touches an entry that is acknowledged in Redis
        with self._cond:
            for entry_id in done:
                self._inflight.pop(entry_id, None)
            self._acks.extend(acks)
        if processed:
            self.stats.add("processed", processed)

    def _worker_main(self) -> None:
        while True:
            work = self._work.get()
            if work is None or self._closed.is_set():
                return  # what is still queued stays pending in Redis for other consumers
            self._settle(work)

    def _begin(self, entry_id: str) -> None:
        """The handler of ``entry_id`` starts now: handler_timeout counts from here."""
        with self._cond:
            if entry_id in self._inflight:
                self._inflight[entry_id] = time.monotonic()

    def _settle(self, work: Delivery) -> None:
        self._begin(work.id)
        started = time.monotonic()
        try:
            outcome = self._process(work)
            if outcome > 0:
                self._ack(work.id, processed=outcome == PROCESSED)
        except BaseException:
            # A bad message never kills a worker (not even a handler calling sys.exit):
            # the entry stays pending and is claimed again after claim_idle.
            log.exception("consumer %s: could not settle entry %s", self.name, work.id)
        finally:
            with self._cond:
                self._sizer.handled(1, time.monotonic() - started)
                self._inflight.pop(work.id, None)
                self._cond.notify_all()

    def _process(self, work: Delivery) -> int:
        """Decode and handle one entry; PROCESSED or SKIPPED (to acknowledge) or SETTLED."""
        step = self._prepare(work.id, work.fields, work.deliveries)
        if isinstance(step, commands.Settle):
            return self._settle_unhandled(work, step)
        guard = self._guard
        if guard is not None and not guard.taken(
            work.id, self._scripts.guard(*guard.take_call(work.id, work.deliveries))
        ):
            # another live consumer runs it now: handed back to it, it acknowledges it
            log.info("consumer %s: %s is being processed by another consumer", self.name, work.id)
            self._count_duplicate()
            return SETTLED
        try:
            self.handler(step)
        except AlreadyProcessed:
            self._count_duplicate()
            return SKIPPED  # acknowledged, not run again
        except Exception as exc:
            if self._closed.is_set():
                return self._abandon(work)
            return self._handler_failed(work, exc)
        finally:
            if guard is not None:
                self._release_guard(guard, work.id)
        if self._closed.is_set():
            return self._abandon(work)
        target = entries.reply_target(work.fields)
        if target is not None:
            self._notify(target, work.id, "done", "")
        return PROCESSED

    def _release_guard(self, guard: ProcessingGuard, entry_id: str) -> None:
        try:
            self._scripts.guard(*guard.release_call(entry_id))
        except redis.RedisError as exc:
            # the handler's outcome stands; the token just expires (2 * claim_idle)
            log.warning(
                "consumer %s: could not release the token of %s: %s", self.name, entry_id, exc
            )

    def _refresh_guard(self) -> None:
        assert self._guard is not None
        call = self._guard.refresh_call()
        if call is not None:
            self._scripts.guard(*call)

    def _count_duplicate(self) -> None:
        """One more delivery of this group that was not run again (visible in Manager.info)."""
        self.stats.add("duplicates")
        try:
            self.client.hincrby(self.keys.duplicates, self.group, 1)
        except redis.RedisError as exc:
            # only the counter is lost; the message itself is settled as usual
            log.warning("consumer %s: could not count a duplicate delivery: %s", self.name, exc)

    def _abandon(self, work: Delivery) -> int:
        log.warning(
            "consumer %s: handler of %s returned after the consumer shut down; its outcome "
            "is dropped and the entry stays pending for another consumer",
            self.name,
            work.id,
        )
        return ABANDONED

    def _settle_unhandled(self, work: Delivery, step: commands.Settle) -> int:
        if step.action == "ack":
            return SKIPPED
        self._dead_letter(work, step.reason, step.error, "")
        return SETTLED

    def _handler_failed(self, work: Delivery, exc: Exception) -> int:
        self.stats.add("failed")
        decision = self.config.decide_failure(work.deliveries)
        if decision.action == commands.DEAD_LETTER:
            self._dead_letter(
                work,
                deadletter.MAX_DELIVERIES,
                deadletter.describe(exc),
                deadletter.traceback_tail(exc),
            )
        elif decision.action == commands.HOLD:
            # nothing after it may run first: it stays ours, pending, and is handled
            # again after the backoff before anything newer (see _run_ordered)
            self._ordered_failure = (work.deliveries, decision.delay, exc)
            return FAILED
        else:
            self._retry(work, exc, decision.delay)
        return SETTLED

    def _ack(self, entry_id: str, *, processed: bool = True) -> None:
        with self._cond:
            self._acks.append(entry_id)
        if processed:
            self.stats.add("processed")

    def _retry(self, work: Delivery, exc: Exception, delay: float) -> None:
        keys, args = commands.retry_call(
            self.keys,
            self.group,
            work.id,
            self.name,
            work.deliveries,
            delay=delay,
            fields=work.fields,
        )
        log.warning(
            "consumer %s: handler failed on %s (delivery %d of %d): %s; retry in %.2fs",
            self.name,
            work.id,
            work.deliveries,
            self.max_deliveries,
            deadletter.describe(exc),
            delay,
        )
        parked = self._scripts.retry(keys=keys, args=args)
        if parked == commands.RETRY_PARKED:
            self.stats.add("retried")
        elif parked == commands.RETRY_TRIMMED:  # its data was trimmed away meanwhile
            self.stats.add("dead_lettered")

    def _dead_letter(self, work: Delivery, reason: str, error: str, trace: str) -> None:
        log.warning(
            "consumer %s: dead-lettering %s at delivery %d (%s): %s",
            self.name,
            work.id,
            work.deliveries,
            reason,
            error,
        )
        keys, args = commands.dead_letter_call(
            self.keys,
            self.queue,
            self.group,
            work.id,
            self.name,
            work.deliveries,
            reason,
            error,
            trace,
        )
        if self._scripts.dead_letter(keys=keys, args=args):
            self.stats.add("dead_lettered")
            target = entries.reply_target(work.fields)
            if target is not None:
                self._notify(target, work.id, "dead", error)

    def _notify(self, target: tuple[str, str], entry_id: str, status: str, error: str) -> None:
        keys, args = commands.notify_call(self.keys, target, entry_id, status, error)
        try:
            self._scripts.notify(keys=keys, args=args)
        except redis.RedisError as exc:
            # the message itself is settled; only the producer's notification is lost
            log.warning("consumer %s: could not notify producer %s: %s", self.name, target[0], exc)

    def _sweep_replies(self) -> None:
        """Delete reply streams of producers that died (their heartbeat key expired)."""
        found = list(self.client.scan_iter(match=self.keys.reply_pattern, count=1000))
        if not found:
            return
        pipe = self.client.pipeline(transaction=False)
        for key in found:
            pipe.exists(self.keys.producer_alive(commands.reply_producer(self.keys, key)))
        orphans = commands.orphaned_replies(self.keys, found, pipe.execute())
        for key in orphans:
            self.client.delete(key)
        if orphans:
            log.info("consumer %s: deleted %d orphaned reply streams", self.name, len(orphans))

    # ------------------------------------------------------------------ threads

    def _start_threads(self, *, mover: bool) -> None:
        self._work = queue_mod.SimpleQueue()
        self._next_due_at = None
        self._workers = [
            threading.Thread(
                target=self._worker_main, name=f"sw-worker-{self.name}-{i}", daemon=True
            )
            for i in range(0 if self._inline else self.concurrency)
        ]
        self._heartbeat_stop.clear()
        self._heartbeat = threading.Thread(
            target=self._heartbeat_main, name=f"sw-heartbeat-{self.name}", daemon=True
        )
        self._mover_stop.clear()
        self._mover = None
        if mover:
            self._mover = threading.Thread(
                target=self._mover_main, name=f"sw-mover-{self.name}", daemon=True
            )
        for thread in (*self._workers, self._heartbeat, self._mover):
            if thread is not None:
                thread.start()

    def _heartbeat_main(self) -> None:
        next_touch = time.monotonic() + self.heartbeat_interval
        next_lock = time.monotonic() + self.lock_ttl / 3
        overdue_said = False
        while True:
            stopping = self._heartbeat_stop.wait(self.ack_interval)
            try:
                if (
                    self._ahead is not None
                    and self._ahead.pending
                    and time.monotonic() - self._ahead_sent > self.heartbeat_interval / 2
                ):
                    self._collect_ahead()
                self._flush_acks()
                if self._holding and time.monotonic() >= next_lock:
                    next_lock = time.monotonic() + self.lock_ttl / 3
                    if not self._handler_overdue():
                        overdue_said = False
                        self._refresh_order_lock()
                    elif not overdue_said:  # say it once per stuck handler
                        overdue_said = True
                        log.error(
                            "consumer %s: a handler of ordered group %r has run longer than "
                            "handler_timeout=%ss; letting the lock expire so that another "
                            "consumer takes the group over",
                            self.name,
                            self.group,
                            self.handler_timeout,
                        )
                if time.monotonic() >= next_touch:
                    next_touch = time.monotonic() + self.heartbeat_interval
                    self._touch()
                    if self._guard is not None:
                        self._refresh_guard()
            except UNAVAILABLE_ERRORS as exc:
                log.debug("consumer %s: heartbeat could not reach Redis: %s", self.name, exc)
            except Exception:
                log.exception("consumer %s: heartbeat failed", self.name)
            if stopping:
                return

    def _refresh_order_lock(self) -> None:
        holder = text(
            self._scripts.ordered_lock(
                keys=[self._lock_key], args=[self.name, int(self.lock_ttl * 1000), "0"]
            )
        )
        if holder == self.name:
            self._lock_confirmed_at = time.monotonic()
        elif self._holding:
            self._holding = False
            log.error(
                "consumer %s: lost the lock of ordered group %r to %r (stalled longer than "
                "lock_ttl=%ss, or a handler past handler_timeout?); it now handles this "
                "group's entries, and this one starts no further handler",
                self.name,
                self.group,
                holder,
                self.lock_ttl,
            )

    def _shut_down(self) -> None:
        """Finish what is held (unless aborted), then stop the helper threads and settle
        with Redis. A second signal during the wait switches to stopping at once."""
        self._stop.set()
        finished = False
        try:
            if not self._abort.is_set():
                if self._ahead is not None:
                    self._finish_ahead()
                finished = self._wait_idle(self.shutdown_timeout)
        except KeyboardInterrupt:
            self._abort.set()
        self._closing = True
        if not finished:
            self._let_go()
        for _ in self._workers:
            self._work.put(None)
        for thread in self._workers:
            thread.join(timeout=5.0 if finished else 0.1)
        self._mover_stop.set()
        self._heartbeat_stop.set()
        if self._mover is not None:
            self._mover.join(timeout=10.0)
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=10.0)
        try:
            self._flush_acks()
            if self.ordered and self._holding:
                self._holding = False
                self._scripts.ordered_lock(keys=[self._lock_key], args=[self.name, 1, "1"])
            if finished:
                # leave no trace in XINFO CONSUMERS, but only when nothing would be dropped
                keys, args = commands.delete_consumer_call(self.keys, self.group, self.name)
                self._scripts.delete_consumer(keys=keys, args=args)
        except redis.RedisError as exc:
            log.warning("consumer %s: could not settle with Redis on exit: %s", self.name, exc)

    def _let_go(self) -> None:
        """Stop without the held entries: they stay pending in Redis (the read-ahead's too)
        and other consumers claim them after claim_idle. Python cannot stop a thread, so a
        handler still running in a worker thread runs to its end, but no other starts and
        its outcome is dropped (see ABANDONED)."""
        self._closed.set()
        if self._ahead is not None:
            with self._ahead_lock:
                self._return_acks(self._ahead_acks)
                self._ahead_acks = []
                self._ahead.discard()
        with self._cond:
            left = len(self._inflight) + len(self._stash)
            self._inflight.clear()
            self._stash = []
            self._cond.notify_all()
        log.warning(
            "consumer %s: stopping %s; %d held messages stay pending for other consumers to claim",
            self.name,
            "at once (second signal)"
            if self._abort.is_set()
            else f"after shutdown_timeout={self.shutdown_timeout}s",
            left,
        )

    def _finish_ahead(self) -> None:
        """Handle what the read-ahead delivered: those entries are this consumer's."""
        assert self._ahead is not None
        try:
            self._collect_ahead()
        except (redis.RedisError, QueueUnavailable) as exc:
            log.warning(
                "consumer %s: could not read the last read-ahead reply (%s); what it "
                "delivered stays pending for a claim",
                self.name,
                exc,
            )
            self._ahead.discard()
        with self._cond:
            rows, self._stash = self._stash, []
        if rows:
            self._dispatch(rows)

    def _install_signal_handlers(self) -> Callable[[], None]:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            return lambda: None
        signals = (signal.SIGTERM, signal.SIGINT)
        previous = {sig: signal.getsignal(sig) for sig in signals}

        def handler(signum: int, _frame: object) -> None:
            if self._abort.is_set():
                return  # already stopping at once; an exception here would cut that short
            if self._stop.is_set():
                # second signal: interrupt the handler or the wait in the loop thread
                log.warning(
                    "consumer %s: second %s: stopping at once",
                    self.name,
                    signal.Signals(signum).name,
                )
                self._abort.set()
                if not any(engine._closing for engine in self._engines):
                    raise KeyboardInterrupt
                return
            log.warning(
                "consumer %s: %s received, finishing in-flight messages",
                self.name,
                signal.Signals(signum).name,
            )
            self.stop()

        for sig in signals:
            signal.signal(sig, handler)

        def restore() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)

        return restore
