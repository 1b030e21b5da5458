"""asyncio Consumer: the same delivery, claims, retries, dead letters, delayed moves, ordered
mode, priorities, read-ahead, handler_timeout and signal handling as queues.Consumer, with
tasks instead of threads.

Parts: ``engine.py`` one stream (reads, claims, acks, handler tasks, heartbeat, mover),
``handling.py`` one entry's outcome, ``ordered.py`` and ``priorities.py`` the modes built on
engines, ``lifecycle.py`` signals and shutdown. Tasks of one running consumer: the loop, the
handler tasks (with ``concurrency=1`` one task per batch, handling its entries in order;
otherwise one per entry), and per engine a mover and a heartbeat.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import redis

from queues.aio.connection import AsyncRedisLike, address, connect, socket_timeout
from queues.backoff import Backoff
from queues.connection import UNAVAILABLE_ERRORS, unavailable_as_error
from queues.consumer import ConsumerConfig, ConsumerStats, check_handler, is_nogroup, timing
from queues.entries import MAX_PAYLOAD_BYTES, serializer_map
from queues.exceptions import GroupLost
from queues.scripts import Scripts
from queues.serializers import JSON, Serializer, resolve
from queues.types import Message

from . import lifecycle, priorities
from .engine import Engine
from .handling import log
from .lifecycle import sleep_unless
from .ordered import Ordered

Handler = Callable[[Message], Awaitable[object] | object]

__all__ = ["Consumer", "Handler"]


class Consumer:
    """Consumes one queue as a member of one group from asyncio code.

    ``await run()`` serves until ``stop()``, SIGTERM or SIGINT (on the main thread's loop);
    ``await run(burst=True)`` handles what is available now (new, claimable and due entries)
    and returns. The handler may be a coroutine function (awaited) or a plain function
    (called on the loop). A handler that returns acknowledges; one that raises retries with
    backoff, then dead-letters; one running longer than ``handler_timeout`` is cancelled and
    its entry let go for another consumer to claim. Every argument is queues.Consumer's,
    with the same default and meaning.
    """

    def __init__(
        self,
        queue: str,
        group: str,
        handler: Handler,
        redis: AsyncRedisLike,
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
        max_payload_bytes: int | None = MAX_PAYLOAD_BYTES,
        on_group_lost: str = "recreate",
    ) -> None:
        check_handler(handler, "handler(message)")
        #: every argument, checked (the same checks as queues.Consumer's)
        self.config = config = ConsumerConfig(
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
        self.queue = queue
        self.group = group
        self.name = config.consumer_name
        self.handler = handler
        self.client = connect(redis)
        self._owns_client = self.client is not redis
        self.address = address(self.client)
        # a blocking read must return before the socket read gives up on it
        self.block_ms = timing.capped_block_ms(block_ms, socket_timeout(self.client))
        self.claim_idle = claim_idle
        self.max_deliveries = max_deliveries
        self.concurrency = concurrency
        self._batch_size = batch_size
        self.backoff_base, self.backoff_max, self.backoff_jitter = (
            backoff_base,
            backoff_max,
            backoff_jitter,
        )
        self.claim_interval = claim_interval
        self.claim_batch = claim_batch
        self.heartbeat_interval = config.heartbeat_seconds
        self.ack_interval = ack_interval
        self.start_id = start_id
        self.shutdown_timeout = shutdown_timeout
        #: Seconds a handler may run (from its start); then it is cancelled and its entry
        #: let go (not kept fresh) for another consumer to claim. None: no limit.
        self.handler_timeout = handler_timeout
        self.handle_signals = handle_signals
        self.move_batch = move_batch
        self.move_interval = move_interval
        self.ordered = ordered
        self.on_active = on_active
        self.lock_ttl = config.lock_seconds
        self.priorities = priorities
        #: The priority level this consumer reads (0: the main stream).
        self.level = level
        #: Reads the next batch while handling one (concurrency=1); off where it would
        #: reorder work: ordered mode, priorities, a level of its own (as queues.Consumer).
        self.read_ahead = (
            read_ahead and concurrency == 1 and not ordered and priorities == 1 and level == 0
        )
        self.guard = guard
        self.max_payload_bytes = max_payload_bytes
        self.on_group_lost = on_group_lost
        self.serializer = resolve(serializer)
        self._serializers = serializer_map(JSON, self.serializer)
        self._scripts = Scripts(self.client)
        self.stats = ConsumerStats()
        #: maxmemory-policy of the server, read at start-up (None if CONFIG is disabled).
        self.eviction_policy: str | None = None
        levels = range(priorities - 1, -1, -1) if priorities > 1 else [level]
        #: one engine per level read, highest first
        self._engines = [Engine(self, lvl) for lvl in levels]
        self._engine = self._engines[-1]
        self._ordered = Ordered(self, self._engine) if ordered else None
        self._stop = asyncio.Event()
        self._helpers_stop = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._abort = False
        self._running = False
        self._main: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ public API

    async def run(self, burst: bool = False) -> None:
        """Consume until stop() or a signal (or, with ``burst``, until nothing is available
        now). A second SIGTERM/SIGINT stops at once and raises KeyboardInterrupt."""
        if self._running:
            raise RuntimeError(f"consumer {self.name!r} is already running")
        self._running = True
        self._stop = asyncio.Event()
        self._helpers_stop = asyncio.Event()
        self._slots = asyncio.Semaphore(self.concurrency)
        self._abort = False
        for engine in self._engines:
            engine.reset()
        restore = lifecycle.install_signal_handlers(self)
        stop = self._helpers_stop
        helpers = [asyncio.create_task(lifecycle.heartbeat(e, stop)) for e in self._engines]
        if not burst:
            helpers += [asyncio.create_task(lifecycle.mover(e, stop)) for e in self._engines]
        self._main = asyncio.create_task(self._loop(burst))
        try:
            try:
                await self._main
            except asyncio.CancelledError:
                if not self._abort:
                    raise
        finally:
            self._stop.set()
            try:
                await lifecycle.shut_down(self, helpers)
            finally:
                restore()
                self._main = None
                self._running = False
        if self._abort:
            raise KeyboardInterrupt

    def stop(self) -> None:
        """Ask a running consumer to stop after its in-flight messages."""
        self._stop.set()
        for engine in self._engines:
            engine._freed.set()  # a loop waiting for room gives up waiting

    async def close(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    @property
    def batch_size(self) -> int:
        """Entries asked for by the next read (fixed, or adapted: see queues/batching.py)."""
        return self._engine.batch_size

    @property
    def prefetch(self) -> int:
        return self._engine.prefetch

    @property
    def running(self) -> bool:
        return self._running

    @property
    def ready(self) -> bool:
        """True once a running consumer has joined its group (start-up done)."""
        return self._running and all(e._ready for e in self._engines)

    def __repr__(self) -> str:
        return f"<aio.Consumer {self.name!r} of {self.queue!r}/{self.group!r} at {self.address}>"

    # ------------------------------------------------------------------ loops

    def _abort_now(self) -> None:
        """Second signal: stop at once; what is held stays pending (see lifecycle.py)."""
        self._abort = True
        self.stop()
        if self._main is not None:
            self._main.cancel()
        for engine in self._engines:
            for task in engine._tasks:
                task.cancel()

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, but wake when stopped; True when stopped."""
        return await sleep_unless(self._stop, seconds)

    async def _loop(self, burst: bool) -> None:
        if len(self._engines) > 1:
            await priorities.run(self, burst)
        elif self._ordered is not None:
            await self._ordered.run(burst)
        elif burst:
            with unavailable_as_error(self.address):
                await self._run_burst()
        else:
            await self._run_forever()

    async def _run_forever(self) -> None:
        backoff = Backoff(base=0.1, cap=2.0)
        engine = self._engine
        while not self._stop.is_set():
            try:
                if not engine._ready:
                    await engine.start_up()
                await self._turn()
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
                    engine._ready = False
                    continue
                log.exception("consumer %s: unexpected Redis error", self.name)
                await self._sleep(backoff.next())
            except UNAVAILABLE_ERRORS as exc:
                delay = backoff.next()
                log.warning(
                    "consumer %s: Redis at %s unavailable (%s); retrying in %.2fs",
                    self.name,
                    self.address,
                    exc,
                    delay,
                )
                await self._sleep(delay)

    async def _run_burst(self) -> None:
        engine = self._engine
        await engine.start_up()
        while not self._stop.is_set():
            found, _ = await engine.move_due()
            engine._rescan = False
            engine._claims.cursor = "-"
            while not self._stop.is_set():
                found += await engine.claim(await engine.wait_free())
                if engine._claims.cursor == "-":
                    break
            while not self._stop.is_set():
                read = await engine.read(await engine.wait_free(), None)
                found += read
                if read == 0:
                    break
            await engine.wait_idle(None)
            await engine.flush_acks()
            if found == 0:
                break

    async def _turn(self) -> None:
        """One loop turn: a claim step when due, then a read (blocking at most until the
        next claim step or due ticket)."""
        engine = self._engine
        if engine._rescan:
            engine._rescan = False
            engine._claims.rescan_now()
        found = 0
        free = await engine.wait_free()
        if engine._claims.due(time.monotonic()):
            found += await engine.claim(free)
            free = await engine.wait_free()
        block_ms: int | None = None
        if found == 0:
            block_ms = timing.block_for(
                self.block_ms,
                time.monotonic(),
                claim_at=engine._claims.next_at,
                due_at=engine._next_due_at,
            )
        await engine.read(free, block_ms)
