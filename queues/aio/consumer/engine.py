"""One stream (one priority level) of the asyncio consumer: join the group, read, claim,
hand entries to handler tasks, acknowledge, keep held entries fresh, move due tickets.

The loop never polls: it waits on an event set when held entries drop to where it may read
again. With ``read_ahead`` (``concurrency=1``) it reads the next batch while a task works
through the one in hand, as queues.Consumer's read-ahead does, so it holds up to twice
``batch_size``; without it (ordered mode, priorities, ``read_ahead=False``) it reads again
once the batch in hand is handled. With ``concurrency > 1`` the task hand-off overlaps the
same way (it holds up to ``batch_size`` + max(``batch_size``, ``concurrency``)).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

import redis

from queues import batching, claims, commands, events, freshness
from queues.entries import text
from queues.exceptions import GroupLost
from queues.guard import ProcessingGuard
from queues.health import evicts_keys
from queues.keys import REGISTRY, queue_keys

from .handling import PROCESSED, Handling, log

if TYPE_CHECKING:
    from . import Consumer

TOUCH_CHUNK = 500


class Engine(Handling):
    """Reads and handles one stream of a Consumer (its settings are the Consumer's)."""

    def __init__(self, consumer: Consumer, level: int) -> None:
        c = consumer
        self.consumer = c
        self.level = level
        self.queue, self.group, self.name = c.queue, c.group, c.name
        self.keys = queue_keys(c.queue, level)
        self.client = c.client
        self.stats = c.stats
        self.handler = c.handler
        self._is_async = inspect.iscoroutinefunction(c.handler)
        self.handler_timeout = c.handler_timeout
        self.ordered = c.ordered
        self.max_deliveries = c.max_deliveries
        self.decide_failure = c.config.decide_failure
        self.concurrency = c.concurrency
        self._scripts = c._scripts
        self._prepare = commands.preparer(
            queue=c.queue,
            group=c.group,
            max_deliveries=c.max_deliveries,
            serializers=c._serializers,
            max_payload_bytes=c.max_payload_bytes,
        )
        self._claims = claims.ClaimScan(
            claim_idle_ms=int(c.claim_idle * 1000),
            interval=c.config.claim_every,
        )
        #: batch_size=None: each read sized from the measured handler time (queues/batching.py)
        self._sizer = batching.BatchSizer(c._batch_size, concurrency=c.concurrency)
        #: guard=True: a processing token per message while its handler runs (queues/guard.py)
        self._guard = (
            ProcessingGuard(self.keys, c.group, c.name, int(c.claim_idle * 2000))
            if c.guard
            else None
        )
        #: read the next batch while the one in hand is handled (see the module docstring)
        self._ahead = c.read_ahead or c.concurrency > 1
        #: held entries: id -> monotonic time its handler started, None while it waits its
        #: turn (handler_timeout counts from the start: queues/freshness.py)
        self._inflight: dict[str, float | None] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._acks: list[str] = []
        self._freed = asyncio.Event()
        self._need: int | None = -1  # what a waiting loop needs (None: a batch; -1: no one)
        self._limit = -1  # _freed is set when no more than this many entries are held
        self.timed_out = asyncio.Event()
        self._rescan = False
        self._next_due_at: float | None = None
        self._ready = False
        self._group_seen = False
        self._last_read: str | None = None  # the newest id read from the stream (">")

    def reset(self) -> None:
        """Fresh events for a new run() (the loop may be another one)."""
        self._freed = asyncio.Event()
        self.timed_out = asyncio.Event()
        self._next_due_at = None

    @property
    def batch_size(self) -> int:
        return self._sizer.size

    @property
    def prefetch(self) -> int:
        return max(self._sizer.size, self.concurrency)

    # ------------------------------------------------------------------ Redis steps

    async def start_up(self) -> None:
        start = self.consumer.start_id
        if self._group_seen:  # the group vanished under this consumer: see queues.Consumer
            if self.consumer.on_group_lost == "stop" and not await self._group_exists():
                raise GroupLost(self.queue, self.group)
            start = commands.recreate_start(
                last_read=self._last_read,
                start_id=self.consumer.start_id,
                stream_exists=bool(await self.client.exists(self.keys.stream)),
            )
        try:
            created = await self.client.xgroup_create(
                self.keys.stream, self.group, id=start, mkstream=True
            )
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            created = False
        if created:
            await self.client.xadd(
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
        await self.client.sadd(REGISTRY, self.queue)  # type: ignore[misc]
        if self.level:
            await self.client.sadd(self.keys.levels, self.level)  # type: ignore[misc]
        await self._sweep_replies()
        if self.consumer.eviction_policy is None:
            await self._check_eviction()
        self._ready = True

    async def _group_exists(self) -> bool:
        try:
            rows = await self.client.xinfo_groups(self.keys.stream)
        except redis.ResponseError:
            return False  # no stream: no group either
        return commands.has_group(rows, self.group)

    async def _check_eviction(self) -> None:
        try:
            reply = await self.client.config_get("maxmemory-policy")
        except redis.ResponseError:
            return  # CONFIG is disabled on many managed services; nothing to check
        policy = text(reply.get("maxmemory-policy")) or None
        self.consumer.eviction_policy = policy
        if evicts_keys(policy):
            log.warning(
                "Redis at %s has maxmemory-policy %s: under memory pressure it may evict the "
                "streams of queue %r and lose messages; use noeviction (or volatile-*)",
                self.consumer.address,
                policy,
                self.queue,
            )

    async def _sweep_replies(self) -> None:
        """Delete reply streams of producers that died (their heartbeat key expired)."""
        found = [key async for key in self.client.scan_iter(match=self.keys.reply_pattern)]
        if not found:
            return
        pipe = self.client.pipeline(transaction=False)
        for key in found:
            pipe.exists(self.keys.producer_alive(commands.reply_producer(self.keys, key)))
        orphans = commands.orphaned_replies(self.keys, found, await pipe.execute())
        for key in orphans:
            await self.client.delete(key)
        if orphans:
            log.info("consumer %s: deleted %d orphaned reply streams", self.name, len(orphans))

    async def move_due(self) -> tuple[int, float | None]:
        """Move due delayed tickets; (moved, seconds until the next is due). Released
        retries are taken by the claim scan: it runs from the start on the next turn."""
        keys, args = commands.move_due_call(self.keys, self.consumer.move_batch)
        moved = commands.read_move_due(await self._scripts.move_due(keys=keys, args=args))
        if moved.released:
            self._rescan = True
        return moved.moved, moved.next_due

    async def claim(self, free: int) -> int:
        # entries handled but not yet acknowledged are neither held nor safe from the scan
        await self.flush_acks()
        reply = await self._scripts.claim(
            keys=self._claims.keys(self.keys),
            args=self._claims.args(
                self.group,
                self.name,
                min(free, self.consumer.claim_batch),
                self.queue,
                events.MAX_EVENTS,
                list(self._inflight),
            ),
        )
        result = claims.parse_reply(reply)
        self._claims.advance(result, time.monotonic())
        if result.claimed:
            self.stats.add("claimed", len(result.claimed))
            self.dispatch([(e.id, e.fields, e.deliveries) for e in result.claimed])
        if result.dead_lettered:
            self.stats.add("dead_lettered", result.dead_lettered)
        return len(result.claimed) + result.dead_lettered

    async def read(self, count: int, block_ms: int | None) -> int:
        reply = await self.client.xreadgroup(
            self.group, self.name, {self.keys.stream: ">"}, count=count, block=block_ms
        )
        rows = commands.read_rows(reply)
        self._sizer.read(count, len(rows))
        self._last_read = commands.newest_read(self._last_read, rows)
        self.dispatch(rows)
        return len(rows)

    async def flush_acks(self) -> None:
        ids, self._acks = self._acks, []
        if not ids:
            return
        try:
            await self.client.xack(self.keys.stream, self.group, *ids)
        except BaseException:
            self._acks[:0] = ids  # acks are idempotent: send them again later
            raise

    async def touch(self) -> None:
        fresh = freshness.to_refresh(
            self._inflight,
            (),
            now=time.monotonic(),
            handler_timeout=self.handler_timeout,
            slots=self.concurrency,
        )
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
        ids = fresh.ids
        for start in range(0, len(ids), TOUCH_CHUNK):
            keys, args = commands.touch_call(
                self.keys, self.group, self.name, ids[start : start + TOUCH_CHUNK]
            )
            lost = await self._scripts.touch(keys=keys, args=args)
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

    def room(self) -> int:
        """Entries the loop may take now (see the module docstring)."""
        return self.prefetch + (self.batch_size if self._ahead else 0) - len(self._inflight)

    async def wait_free(self, need: int | None = None) -> int:
        """Wait (on an event, not a timer) until ``need`` entries fit (a whole batch by
        default); the count to read."""
        stop = self.consumer._stop
        while self.room() < (self.batch_size if need is None else need) and not stop.is_set():
            self._need = need
            self._freed.clear()
            self._recheck()
            await self._freed.wait()
        self._need = self._limit = -1
        return max(1, min(self.batch_size, self.room()))

    def _recheck(self) -> None:
        """For a waiting loop: how few held entries let it read (``_limit``, compared with
        one len() per handled entry); wakes it now if that is already so. Called again
        whenever the batch size may have changed (a batch handled)."""
        if self._need == -1:
            return
        need = self.batch_size if self._need is None else self._need
        self._limit = len(self._inflight) - (need - self.room())
        if self._limit >= len(self._inflight):
            self._freed.set()

    def release(self, entry_id: str) -> None:
        self._inflight.pop(entry_id, None)
        if len(self._inflight) <= self._limit:
            self._freed.set()

    async def wait_idle(self, timeout: float | None) -> bool:
        pending = [t for t in self._tasks if not t.done()]
        if not pending:
            return True
        _done, still = await asyncio.wait(pending, timeout=timeout)
        return not still

    def dispatch(self, rows: Sequence[tuple[str, Any, int]]) -> None:
        fresh = []
        inflight = self._inflight
        for row in rows:
            if row[0] in inflight:
                continue  # an entry we already hold must not run twice here
            inflight[row[0]] = None
            fresh.append(row)
        if not fresh:
            return
        if self.concurrency == 1:
            # one task per batch: handling in order, without a task per entry
            self._start(self._settle_batch(fresh))
            return
        for entry_id, fields, deliveries in fresh:
            self._start(self._settle(entry_id, fields, deliveries))

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle_batch(self, batch: list[tuple[str, Any, int]]) -> None:
        done = processed = 0
        inflight, freed, monotonic = self._inflight, self._freed, time.monotonic
        timed = self.handler_timeout is not None
        try:
            async with self.consumer._slots:  # one slot for the whole batch: in order
                started = monotonic()
                plain = self._guard is None and not self._is_async and not timed
                for entry_id, fields, deliveries in batch:
                    if timed:
                        inflight[entry_id] = monotonic()  # handler_timeout counts from here
                    try:
                        if plain:
                            outcome = self._process_plain(entry_id, fields, deliveries)
                            if outcome.__class__ is not int:
                                outcome = await outcome  # type: ignore[misc]
                        else:
                            outcome = await self._process(entry_id, fields, deliveries)
                        processed += outcome == PROCESSED
                    except Exception:
                        log.exception("consumer %s: could not settle entry %s", self.name, entry_id)
                    done += 1
                    inflight.pop(entry_id, None)
                    if len(inflight) <= self._limit and not freed.is_set():
                        freed.set()
                self._sizer.handled(done, monotonic() - started)
                self._recheck()
        finally:
            if processed:
                self.stats.add("processed", processed)
            # cancelled (shutdown_timeout, a second signal): the rest stays pending in Redis
            for entry_id, _fields, _deliveries in batch[done:]:
                self.release(entry_id)

    async def _settle(self, entry_id: str, fields: Any, deliveries: int) -> None:
        try:
            async with self.consumer._slots:
                started = time.monotonic()
                self._inflight[entry_id] = started  # handler_timeout counts from here
                if await self._process(entry_id, fields, deliveries) == PROCESSED:
                    self.stats.add("processed")
                self._sizer.handled(1, time.monotonic() - started)
                self._recheck()
        except Exception:
            log.exception("consumer %s: could not settle entry %s", self.name, entry_id)
        finally:
            self.release(entry_id)

    async def handle_in_place(self, entry_id: str, fields: Any, deliveries: int) -> int:
        """Ordered mode: handle one entry in the loop itself; its outcome."""
        self._inflight[entry_id] = time.monotonic()
        try:
            outcome = await self._process(entry_id, fields, deliveries)
        finally:
            self._inflight.pop(entry_id, None)
        if outcome == PROCESSED:
            self.stats.add("processed")
        return outcome
