"""Consumer: read a queue through a consumer group and hand each message to a handler.

Threads of one running consumer:
- the caller's thread runs the loop: run a bounded claim-scan step when due (time-gated),
  read new entries (blocking), hand them on;
- a mover thread moves due delayed tickets into the stream at their due time;
- with ``concurrency=1`` the loop thread runs the handler itself (no hand-off between
  threads) and sends the batch's acknowledgements in the same round trip as its next read,
  which goes out before a full batch is handled (read-ahead);
  with more, ``concurrency`` worker threads run the handler, then acknowledge, park for a
  retry or dead-letter the entry;
- one heartbeat thread flushes acknowledgements every ``ack_interval`` and keeps in-flight
  entries fresh so that no other consumer claims a message whose handler is still running.

All state that must survive a crash lives in Redis: the pending entries list (with its
delivery counter), parked retries and their tickets, dead letters.

The parts (queues/consumer/): config.py (every argument check) and timing.py, shared with
queues.aio.Consumer; engine.py (one stream: reads, claims, dispatch) with settle.py (one
entry: handler, retry, dead letter), acks.py, ahead.py (read-ahead) and membership.py
(start-up); ordered.py and priorities.py (modes built on engines); recovery.py (what a
loop does when Redis fails); lifecycle.py (threads, shutdown, signals).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable

from queues import entries
from queues.connection import RedisLike, connect
from queues.consumer.config import ConsumerConfig, check_handler
from queues.consumer.engine import Engine
from queues.consumer.lifecycle import EngineThreads, install_signal_handlers
from queues.consumer.ordered import OrderedLoop
from queues.consumer.priorities import PriorityLoop
from queues.consumer.recovery import Recovery
from queues.consumer.stats import ConsumerStats
from queues.serializers import Serializer
from queues.types import Message

log = logging.getLogger(__name__)

Handler = Callable[[Message], object]


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
        #: Every argument, checked (queues/consumer/config.py).
        self.config = config
        self.queue = queue
        #: The priority level this consumer reads (0: the main stream).
        self.level = level
        self.priorities = priorities
        self.group = group
        self.name = config.consumer_name
        self.handler = handler
        self.client = connect(redis)
        self._owns_client = self.client is not redis
        self.stats = ConsumerStats()
        self._stop = threading.Event()
        #: A second signal: stop at once, leaving held entries pending for other consumers.
        self._abort = threading.Event()
        #: One engine per priority level, highest first; the last one reads ``level``.
        self._engines = [
            Engine(
                dataclasses.replace(config, priorities=1, level=lvl, handle_signals=False),
                handler,
                self.client,
                level=lvl,
                stats=self.stats,
                stop=self._stop,
                abort=self._abort,
            )
            for lvl in range(priorities - 1, 0, -1)
        ]
        self._engines.append(
            Engine(
                config,
                handler,
                self.client,
                level=level,
                stats=self.stats,
                stop=self._stop,
                abort=self._abort,
            )
        )
        engine = self._engine = self._engines[-1]
        self.keys = engine.keys
        self.address = engine.address
        self.block_ms = engine.block_ms
        self.claim_idle = claim_idle
        self.max_deliveries = max_deliveries
        self.concurrency = concurrency
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
        #: Ordered mode: one active consumer per group, holding an expiring lock.
        self.ordered = ordered
        self.on_active = on_active
        self.lock_ttl = config.lock_seconds
        self.serializer = engine.serializer
        self.read_ahead = engine.ahead is not None
        #: What to do when the group vanishes under this consumer (see membership.py).
        self.on_group_lost = on_group_lost
        self._threads = [EngineThreads(e) for e in self._engines]
        self._running = False
        self._running_lock = threading.Lock()
        self._ordered = OrderedLoop(engine) if ordered else None

    # ------------------------------------------------------------------ public API

    def run(self, burst: bool = False) -> None:
        """Consume until stopped (or, with ``burst``, until nothing is available now).

        Blocking. In the main thread, SIGTERM and SIGINT stop it gracefully: no more reads,
        in-flight messages finish and are acknowledged. A second signal stops at once: the
        handler running in the loop thread is interrupted, what the consumer holds stays
        pending for other consumers, and run() raises KeyboardInterrupt. After run() returns
        no handler starts and no outcome is written (see lifecycle.py).
        """
        with self._running_lock:
            if self._running:
                raise RuntimeError(f"consumer {self.name!r} is already running")
            self._running = True
        self._stop.clear()
        self._abort.clear()
        restore = self._install_signal_handlers()
        try:
            for threads in self._threads:
                threads.start(mover=not burst)
            recovery = self._recovery(burst)
            if len(self._engines) > 1:
                PriorityLoop(self._engines, recovery).run(burst)
            elif self._ordered is not None:
                self._ordered.run(burst, recovery)
            elif burst:
                self._run_burst(recovery)
            else:
                self._run_forever(recovery)
        finally:
            try:
                for threads in self._threads:
                    threads.shut_down()
            finally:
                restore()
                with self._running_lock:
                    self._running = False
        if self._abort.is_set():
            # the second signal arrived during the shutdown itself: interrupt all the same
            raise KeyboardInterrupt

    def stop(self) -> None:
        """Ask a running consumer to stop after its in-flight messages (thread-safe)."""
        self._stop.set()
        for engine in self._engines:
            with engine.cond:
                engine.cond.notify_all()

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
        return self._running and self._engine.ready

    @property
    def eviction_policy(self) -> str | None:
        """maxmemory-policy of the server, read at start-up (None if CONFIG is disabled)."""
        return self._engine.membership.eviction_policy

    def close(self) -> None:
        """Release the connections of a client the consumer created from a URL."""
        if self._owns_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"<Consumer {self.name!r} of {self.queue!r}/{self.group!r} at {self.address}>"

    # ------------------------------------------------------------------ loops

    def _recovery(self, burst: bool) -> Recovery:
        return Recovery(
            name=self.name,
            address=self.address,
            queue=self.queue,
            group=self.group,
            on_group_lost=self.on_group_lost,
            stop=self._stop,
            burst=burst,
        )

    def _run_forever(self, recovery: Recovery) -> None:
        engine = self._engine

        def turn() -> bool:
            if not engine.ready:
                engine.start_up()
            engine.turn(block=True)
            return False

        recovery.run(turn, on_nogroup=engine.lost_group)

    def _run_burst(self, recovery: Recovery) -> None:
        engine = self._engine

        def turn() -> bool:
            if not engine.ready:
                engine.start_up()
            return engine.burst_round() == 0

        recovery.run(turn, on_nogroup=engine.lost_group)

    def _install_signal_handlers(self) -> Callable[[], None]:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            return lambda: None
        return install_signal_handlers(self.name, self.stop, self._stop, self._abort, self._engines)
