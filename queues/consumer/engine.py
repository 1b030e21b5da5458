"""The engine: one consumer's work on one stream (one priority level). It reads new
entries, runs claim-scan steps, hands entries to the handler (in the loop thread with
concurrency=1, else to worker threads), acknowledges, and keeps what it holds fresh.

The plain loop drives one engine (``turn``, ``burst_round``); ordered mode
(queues/consumer/ordered.py) and priorities (queues/consumer/priorities.py) drive engines
through the same public methods; the threads of an engine live in lifecycle.py.
"""

from __future__ import annotations

import logging
import queue as queue_mod
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from queues import batching, claims, commands, entries, events, readahead
from queues.commands import Delivery
from queues.connection import address, socket_timeout
from queues.consumer import timing
from queues.consumer.acks import AckBuffer
from queues.consumer.ahead import ReadAheadBatch
from queues.consumer.config import ConsumerConfig
from queues.consumer.membership import Membership
from queues.consumer.settle import Settler
from queues.consumer.stats import PROCESSED, SETTLED, ConsumerStats
from queues.keys import queue_keys
from queues.scripts import Scripts
from queues.serializers import JSON, resolve

if TYPE_CHECKING:
    from queues.consumer.consumer import Handler
    from queues.consumer.ordered import OrderedLock

log = logging.getLogger(__name__)


class Engine:
    """Consumes one stream of a queue (``level``) as a member of one group."""

    def __init__(
        self,
        config: ConsumerConfig,
        handler: Handler,
        client: Any,
        *,
        level: int,
        stats: ConsumerStats,
        stop: threading.Event,
        abort: threading.Event,
    ) -> None:
        self.config = config
        self.level = level
        self.keys = queue_keys(config.queue, level)
        self.queue = config.queue
        self.group = config.group
        self.name = config.consumer_name
        self.client = client
        self.address = address(client)
        # a blocking read must return before the socket read gives up on it
        self.block_ms = timing.capped_block_ms(config.block_ms, socket_timeout(client))
        self.concurrency = config.concurrency
        #: batch_size=None: each read sized from the measured handler time (queues/batching.py)
        self.sizer = batching.BatchSizer(config.batch_size, concurrency=config.concurrency)
        #: concurrency=1: the loop thread runs the handler itself.
        self.inline = config.concurrency == 1
        self.scripts = Scripts(client)
        self.claims = claims.ClaimScan(
            claim_idle_ms=int(config.claim_idle * 1000), interval=config.claim_every
        )
        self.stats = stats
        #: shared by the engines of one Consumer: stop reading / stop at once (second signal)
        self.stop = stop
        self.abort = abort
        #: Shut down without waiting for every handler: no handler starts any more, and the
        #: outcome of one still running in a worker thread is dropped.
        self.closed = threading.Event()
        #: Past the waiting part of the shutdown: a signal no longer raises (it would cut
        #: the flush of acknowledgements and the release of the ordered lock short).
        self.closing = False
        self.cond = threading.Condition()
        #: Held entries: id -> monotonic time its handler started, None while it waits its
        #: turn (see queues/freshness.py: handler_timeout counts from the handler's start).
        self.inflight: dict[str, float | None] = {}
        self.acks = AckBuffer(client, self.keys, self.group, self.cond)
        self.serializer = resolve(config.serializer)
        prepare = commands.preparer(
            queue=config.queue,
            group=self.group,
            max_deliveries=config.max_deliveries,
            serializers=entries.serializer_map(JSON, self.serializer),
            max_payload_bytes=config.max_payload_bytes,
        )
        self.settler = Settler(
            config, handler, client, self.keys, self.scripts, stats, self.closed, prepare
        )
        self.membership = Membership(config, client, self.keys, self.address)
        #: concurrency=1 on one server: the next read goes out before a full batch is
        #: handled (see ahead.py). Not with priorities or ordered: the batch read ahead
        #: would be handled before a newer higher-priority or retried entry.
        transport = (
            readahead.for_client(client)
            if config.read_ahead
            and self.inline
            and not config.ordered
            and config.priorities == 1
            and level == 0
            else None
        )
        self.ahead = (
            None
            if transport is None
            else ReadAheadBatch(transport, self.keys, self.group, self.name, self.acks, self.cond)
        )
        self.work: queue_mod.SimpleQueue[Delivery | None] = queue_mod.SimpleQueue()
        #: monotonic time the next known ticket is due (written by the mover thread)
        self.next_due_at: float | None = None
        self.rescan = threading.Event()  # retries were released: scan from the start
        #: ordered mode: the group's lock, refreshed by the heartbeat (see ordered.py)
        self.lock: OrderedLock | None = None

    @property
    def batch_size(self) -> int:
        return self.sizer.size

    @property
    def prefetch(self) -> int:
        return max(self.sizer.size, self.concurrency)

    # ------------------------------------------------------------------ group

    @property
    def ready(self) -> bool:
        return self.membership.ready

    def start_up(self) -> None:
        self.membership.start_up()

    def lost_group(self) -> None:
        """The group vanished: join again (start-up) before the next read."""
        self.membership.ready = False

    # ------------------------------------------------------------------ turns

    def turn(self, *, block: bool) -> int:
        """One loop turn: a claim step when its time has come, then read new entries
        (blocking at most until the next claim step or due ticket)."""
        found = 0
        self.rescan_if_released()
        free = self.free()
        if free and self.claims.due(time.monotonic()):
            found += self.claim(free)
            free = self.free()
        if free == 0:
            with self.cond:
                self.cond.wait(self.block_ms / 1000)
            return found
        block_ms: int | None = None
        if block and found == 0:
            block_ms = timing.block_for(
                self.block_ms,
                time.monotonic(),
                claim_at=self.claims.next_at,
                due_at=self.next_due_at,
            )
        return found + self.read(free, block_ms)

    def burst_round(self) -> int:
        """Move due tickets, claim everything claimable, read until nothing is new, wait
        for the handlers; the entries found."""
        found, _ = self.move_due()
        self.rescan.clear()
        self.claims.cursor = "-"
        while not self.stop.is_set():
            free = self.wait_free()
            if free:
                found += self.claim(free)
            if self.claims.cursor == "-":
                break
        while not self.stop.is_set():
            free = self.wait_free()
            read = self.read(free, None) if free else 0
            found += read
            if read == 0:
                break
        self.wait_idle(None)
        self.acks.flush()
        return found

    def rescan_if_released(self) -> None:
        """Retries were released: the next claim step scans from the start, now."""
        if self.rescan.is_set():
            self.rescan.clear()
            self.claims.rescan_now()

    # ------------------------------------------------------------------ Redis steps

    def move_due(self) -> tuple[int, float | None]:
        """Move due delayed tickets; return (moved, seconds until the next ticket is due).
        Released retries are taken by the claim scan, so it runs next from the start."""
        keys, args = commands.move_due_call(self.keys, self.config.move_batch)
        moved = commands.read_move_due(self.scripts.move_due(keys=keys, args=args))
        if moved.released:
            self.rescan.set()
        return moved.moved, moved.next_due

    def claim(self, free: int) -> int:
        # entries handled but not yet acknowledged are neither held nor safe from the scan
        self.acks.flush()
        with self.cond:
            held = [*self.inflight, *self.held_ids()]
        reply = self.scripts.claim(
            keys=self.claims.keys(self.keys),
            args=self.claims.args(
                self.group,
                self.name,
                min(free, self.config.claim_batch),
                self.queue,
                events.MAX_EVENTS,
                held,
            ),
        )
        result = claims.parse_reply(reply)
        self.claims.advance(result, time.monotonic())
        if result.claimed:
            self.stats.add("claimed", len(result.claimed))
            self.dispatch(Delivery(e.id, e.fields, e.deliveries) for e in result.claimed)
        if result.dead_lettered:
            self.stats.add("dead_lettered", result.dead_lettered)
        return len(result.claimed) + result.dead_lettered

    def read(self, count: int, block_ms: int | None) -> int:
        """Read up to ``count`` new entries (or take the read-ahead's) and hand them on."""
        ahead = self.ahead
        if ahead is not None and ahead.has_rows():
            ahead.collect()
            rows = ahead.take()
            count = ahead.count
        else:
            rows = self.read_new(count, block_ms)
        full = len(rows) >= self.sizer.size
        with self.cond:
            self.sizer.read(count, len(rows))
        if ahead is not None and full and not self.stop.is_set():
            ahead.send(self.sizer.size)
        self.dispatch(rows)
        return len(rows)

    def read_new(self, count: int, block_ms: int | None) -> list[Delivery]:
        """XREADGROUP ">" (with concurrency=1 the acknowledgements owed ride along)."""
        acks = self.acks.take() if self.inline else []
        if acks:
            # one round trip per batch; Redis runs the XACK before the (maybe blocking) read
            pipe = self.client.pipeline(transaction=False)
            pipe.xack(self.keys.stream, self.group, *acks)
            pipe.xreadgroup(
                self.group, self.name, {self.keys.stream: ">"}, count=count, block=block_ms
            )
            try:
                _acked, reply = pipe.execute()
            except BaseException:
                self.acks.put_back(acks)  # acks are idempotent: send them again later
                raise
        else:
            reply = self.client.xreadgroup(
                self.group, self.name, {self.keys.stream: ">"}, count=count, block=block_ms
            )
        rows = commands.read_rows(reply)
        self.membership.read(rows)
        return rows

    # ------------------------------------------------------------------ work

    def free(self) -> int:
        with self.cond:
            return max(0, self.prefetch - len(self.inflight))

    def wait_free(self) -> int:
        with self.cond:
            while len(self.inflight) >= self.prefetch and not self.stop.is_set():
                self.cond.wait(0.1)
            return max(0, self.prefetch - len(self.inflight))

    def wait_idle(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            while self.inflight:
                remaining = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
                if remaining <= 0:
                    return False
                self.cond.wait(remaining)
        return True

    def handler_overdue(self) -> bool:
        """A handler has run longer than handler_timeout."""
        if self.config.handler_timeout is None:
            return False
        oldest = time.monotonic() - self.config.handler_timeout
        with self.cond:
            return any(since is not None and since < oldest for since in self.inflight.values())

    def held_ids(self) -> list[str]:
        """Ids handed out but not yet handled: waiting read-ahead entries; the caller holds
        ``cond`` (the in-flight register is the rest of what this engine holds)."""
        return self.ahead.stashed_ids() if self.ahead is not None else []

    def deliver(self, rows: list[Delivery]) -> None:
        """Entries read from this engine's stream elsewhere (one read over every level)."""
        self.membership.read(rows)
        self.dispatch(rows)

    def dispatch(self, items: Iterable[Delivery]) -> None:
        fresh: list[Delivery] = []
        with self.cond:
            inflight = self.inflight
            for work in items:
                # an entry we already hold (our own, re-claimed) must not run twice here
                if work.id not in inflight:
                    inflight[work.id] = None
                    fresh.append(work)
        if self.inline:
            self.settle_inline(fresh)
            return
        for work in fresh:
            self.work.put(work)

    def settle_inline(self, batch: list[Delivery]) -> None:
        """Run the handler on a batch in the loop thread. Acks and the in-flight register
        are updated once per batch, or every ack_interval while slow handlers run."""
        done: list[str] = []
        acks: list[str] = []
        processed = 0
        process = self.settler.process
        # when a handler started matters only to handler_timeout (queues/freshness.py)
        begin = self.begin if self.config.handler_timeout is not None else None
        ack_interval = self.config.ack_interval
        handed_at = started = time.monotonic()
        try:
            for work in batch:
                if begin is not None:
                    begin(work.id)
                try:
                    outcome = process(work)
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
                if time.monotonic() - handed_at >= ack_interval:
                    self._hand_over(done, acks, processed)
                    done, acks, processed = [], [], 0
                    handed_at = time.monotonic()
        finally:
            self._hand_over(done, acks, processed)
            with self.cond:
                self.sizer.handled(len(batch), time.monotonic() - started)

    def _hand_over(self, done: list[str], acks: list[str], processed: int) -> None:
        # one lock: an id leaves the in-flight register when its ack is queued, so the
        # heartbeat never touches an entry that is acknowledged in Redis
        with self.cond:
            for entry_id in done:
                self.inflight.pop(entry_id, None)
            self.acks.extend_locked(acks)
        if processed:
            self.stats.add("processed", processed)

    def begin(self, entry_id: str) -> None:
        """The handler of ``entry_id`` starts now: handler_timeout counts from here."""
        with self.cond:
            if entry_id in self.inflight:
                self.inflight[entry_id] = time.monotonic()

    def settle(self, work: Delivery) -> None:
        """A worker thread handles one entry."""
        self.begin(work.id)
        started = time.monotonic()
        try:
            outcome = self.settler.process(work)
            if outcome > 0:
                self.acks.append(work.id)
                if outcome == PROCESSED:
                    self.stats.add("processed")
        except BaseException:
            # A bad message never kills a worker (not even a handler calling sys.exit):
            # the entry stays pending and is claimed again after claim_idle.
            log.exception("consumer %s: could not settle entry %s", self.name, work.id)
        finally:
            with self.cond:
                self.sizer.handled(1, time.monotonic() - started)
                self.inflight.pop(work.id, None)
                self.cond.notify_all()
