"""asyncio Consumer: the same delivery, claims, retries, dead letters and delayed moves as
queues.Consumer, with tasks instead of threads.

Tasks of one running consumer: the loop (claim step when due, blocking read, dispatch),
the handler tasks (with ``concurrency=1`` one task per batch, handling its entries in order;
otherwise one per entry, ``concurrency`` of them running at once), a mover (due delayed tickets, at their due time) and
a heartbeat (acknowledgements every ``ack_interval``, keeping held entries fresh).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import redis

from queues import batching, claims, commands, deadletter, entries, events
from queues.aio.connection import AsyncRedisLike, address, connect
from queues.backoff import Backoff
from queues.connection import DEFAULT_SOCKET_TIMEOUT, UNAVAILABLE_ERRORS, unavailable_as_error
from queues.consumer import ConsumerConfig, ConsumerStats, check_handler, is_nogroup, timing
from queues.entries import MAX_PAYLOAD_BYTES, serializer_map
from queues.exceptions import AlreadyProcessed, GroupLost
from queues.guard import ProcessingGuard
from queues.keys import REGISTRY, queue_keys
from queues.scripts import Scripts
from queues.serializers import JSON, Serializer, resolve
from queues.types import Message

log = logging.getLogger(__name__)

Handler = Callable[[Message], Awaitable[object] | object]


class Consumer:
    """Consumes one queue as a member of one group from asyncio code.

    ``await run()`` serves until ``stop()``; ``await run(burst=True)`` handles what is
    available now (new, claimable and due entries) and returns. The handler may be a
    coroutine function (awaited) or a plain function (called on the loop). A handler that
    returns acknowledges; one that raises retries with backoff, then dead-letters.

    The loop reads the next batch while the handlers work through the one in hand (a
    read-ahead, as the sync consumer's), so it holds up to ``batch_size`` +
    max(``batch_size``, ``concurrency``) entries, all kept fresh by the heartbeat.
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
        shutdown_timeout: float = 60.0,
        move_batch: int = 100,
        move_interval: float = 0.2,
        max_payload_bytes: int | None = MAX_PAYLOAD_BYTES,
        guard: bool = False,
        on_group_lost: str = "recreate",
    ) -> None:
        check_handler(handler, "handler(message)")
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
            move_batch=move_batch,
            move_interval=move_interval,
            max_payload_bytes=max_payload_bytes,
            guard=guard,
            on_group_lost=on_group_lost,
        )
        self.config = config
        self.on_group_lost = on_group_lost
        self._last_read: str | None = None  # the newest id read from the stream (">")
        self.queue = queue
        self.keys = queue_keys(queue)
        self.group = group
        self.name = config.consumer_name
        self.handler = handler
        self._is_async = inspect.iscoroutinefunction(handler)
        self.client = connect(redis)
        self._owns_client = self.client is not redis
        self.address = address(self.client)
        # below the socket timeout of the clients aio.connect makes
        self.block_ms = timing.capped_block_ms(block_ms, DEFAULT_SOCKET_TIMEOUT)
        self.claim_idle = claim_idle
        self.max_deliveries = max_deliveries
        self.concurrency = concurrency
        #: batch_size=None: each read sized from the measured handler time (queues/batching.py)
        self._sizer = batching.BatchSizer(batch_size, concurrency=concurrency)
        self.backoff = (backoff_base, backoff_max, backoff_jitter)
        self.claim_batch = claim_batch
        self.heartbeat_interval = config.heartbeat_seconds
        self.ack_interval = ack_interval
        self.start_id = start_id
        self.shutdown_timeout = shutdown_timeout
        self.move_batch = move_batch
        self.move_interval = move_interval
        self.serializer = resolve(serializer)
        self._serializers = serializer_map(JSON, self.serializer)
        self._prepare = commands.preparer(
            queue=queue,
            group=self.group,
            max_deliveries=self.max_deliveries,
            serializers=self._serializers,
            max_payload_bytes=max_payload_bytes,
        )
        self._scripts = Scripts(self.client)
        self._claims = claims.ClaimScan(
            claim_idle_ms=int(claim_idle * 1000),
            interval=config.claim_every,
        )
        self.stats = ConsumerStats()
        #: guard=True: a processing token per message while its handler runs (queues/guard.py)
        self._guard = (
            ProcessingGuard(self.keys, self.group, self.name, int(claim_idle * 2000))
            if guard
            else None
        )
        self._stop = asyncio.Event()
        #: set when the held entries drop to where the loop may read again (or on stop)
        self._freed = asyncio.Event()
        self._inflight: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(concurrency)
        self._acks: list[str] = []
        self._rescan = False
        self._next_due_at: float | None = None
        self._ready = False
        self._group_seen = False

    # ------------------------------------------------------------------ public API

    async def run(self, burst: bool = False) -> None:
        """Consume until stop() (or, with ``burst``, until nothing is available now)."""
        self._stop = asyncio.Event()
        self._freed = asyncio.Event()
        self._slots = asyncio.Semaphore(self.concurrency)
        helpers = [asyncio.create_task(self._heartbeat_main())]
        if not burst:
            helpers.append(asyncio.create_task(self._mover_main()))
        try:
            if burst:
                with unavailable_as_error(self.address):
                    await self._run_burst()
            else:
                await self._run_forever()
        finally:
            self._stop.set()
            await self._shut_down(helpers)

    def stop(self) -> None:
        """Ask a running consumer to stop after its in-flight messages."""
        self._stop.set()
        self._freed.set()  # a loop waiting for room gives up waiting

    async def close(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    @property
    def batch_size(self) -> int:
        """Entries asked for by the next read (fixed, or adapted: see queues/batching.py)."""
        return self._sizer.size

    @property
    def prefetch(self) -> int:
        return max(self._sizer.size, self.concurrency)

    def __repr__(self) -> str:
        return f"<aio.Consumer {self.name!r} of {self.queue!r}/{self.group!r} at {self.address}>"

    # ------------------------------------------------------------------ loops

    async def _run_forever(self) -> None:
        backoff = Backoff(base=0.1, cap=2.0)
        while not self._stop.is_set():
            try:
                if not self._ready:
                    await self._start_up()
                await self._turn()
                backoff.reset()
            except redis.ResponseError as exc:
                if is_nogroup(exc):
                    log.warning(
                        "consumer %s: group %r is gone; on_group_lost=%r",
                        self.name,
                        self.group,
                        self.on_group_lost,
                    )
                    self._ready = False
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
        await self._start_up()
        while not self._stop.is_set():
            found, _ = await self._move_due()
            self._claims.cursor = "-"
            while not self._stop.is_set():
                free = await self._wait_free()
                found += await self._claim(free)
                if self._claims.cursor == "-":
                    break
            while not self._stop.is_set():
                free = await self._wait_free()
                read = await self._read(free, None)
                found += read
                if read == 0:
                    break
            await self._wait_idle(None)
            await self._flush_acks()
            if found == 0:
                break

    async def _turn(self) -> None:
        if self._rescan:
            self._rescan = False
            self._claims.rescan_now()
        found = 0
        free = await self._wait_free()
        if self._claims.due(time.monotonic()):
            found += await self._claim(free)
            free = await self._wait_free()
        block_ms: int | None = None
        if found == 0:
            block_ms = timing.block_for(
                self.block_ms,
                time.monotonic(),
                claim_at=self._claims.next_at,
                due_at=self._next_due_at,
            )
        await self._read(free, block_ms)

    # ------------------------------------------------------------------ Redis steps

    async def _start_up(self) -> None:
        start = self.start_id
        if self._group_seen:  # the group vanished under this consumer: see queues.Consumer
            if self.on_group_lost == "stop" and not await self._group_exists():
                raise GroupLost(self.queue, self.group)
            start = commands.recreate_start(
                last_read=self._last_read,
                start_id=self.start_id,
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
        self._ready = True

    async def _group_exists(self) -> bool:
        try:
            rows = await self.client.xinfo_groups(self.keys.stream)
        except redis.ResponseError:
            return False  # no stream: no group either
        return commands.has_group(rows, self.group)

    async def _move_due(self) -> tuple[int, float | None]:
        keys, args = commands.move_due_call(self.keys, self.move_batch)
        moved = commands.read_move_due(await self._scripts.move_due(keys=keys, args=args))
        if moved.released:
            self._rescan = True
        return moved.moved, moved.next_due

    async def _claim(self, free: int) -> int:
        await self._flush_acks()
        reply = await self._scripts.claim(
            keys=self._claims.keys(self.keys),
            args=self._claims.args(
                self.group,
                self.name,
                min(free, self.claim_batch),
                self.queue,
                events.MAX_EVENTS,
                list(self._inflight),
            ),
        )
        result = claims.parse_reply(reply)
        self._claims.advance(result, time.monotonic())
        if result.claimed:
            self.stats.add("claimed", len(result.claimed))
            self._dispatch([(e.id, e.fields, e.deliveries) for e in result.claimed])
        if result.dead_lettered:
            self.stats.add("dead_lettered", result.dead_lettered)
        return len(result.claimed) + result.dead_lettered

    async def _read(self, count: int, block_ms: int | None) -> int:
        reply = await self.client.xreadgroup(
            self.group, self.name, {self.keys.stream: ">"}, count=count, block=block_ms
        )
        rows = commands.read_rows(reply)
        self._sizer.read(count, len(rows))
        self._last_read = commands.newest_read(self._last_read, rows)
        self._dispatch(rows)
        return len(rows)

    async def _flush_acks(self) -> None:
        ids, self._acks = self._acks, []
        if not ids:
            return
        try:
            await self.client.xack(self.keys.stream, self.group, *ids)
        except BaseException:
            self._acks[:0] = ids  # acks are idempotent: send them again later
            raise

    async def _touch(self) -> None:
        ids = list(self._inflight)
        for start in range(0, len(ids), 500):
            keys, args = commands.touch_call(
                self.keys, self.group, self.name, ids[start : start + 500]
            )
            await self._scripts.touch(keys=keys, args=args)

    # ------------------------------------------------------------------ work

    def _room(self) -> int:
        """Entries the loop may take now. It reads again as soon as what it holds fits in
        max(batch_size, concurrency): the next batch then travels while the handlers work
        through the one in hand (read-ahead)."""
        return self.prefetch + self.batch_size - len(self._inflight)

    async def _wait_free(self) -> int:
        """Wait (on an event, not a timer) until a whole batch fits; the count to read."""
        while self._room() < self.batch_size and not self._stop.is_set():
            self._freed.clear()
            await self._freed.wait()
        return max(1, min(self.batch_size, self._room()))

    def _release(self, entry_id: str) -> None:
        self._inflight.pop(entry_id, None)
        if self._room() >= self.batch_size:
            self._freed.set()

    async def _wait_idle(self, timeout: float | None) -> bool:
        pending = [t for t in self._tasks if not t.done()]
        if not pending:
            return True
        done, still = await asyncio.wait(pending, timeout=timeout)
        return not still

    def _dispatch(self, rows: Sequence[tuple[str, Any, int]]) -> None:
        now = time.monotonic()
        fresh = []
        for row in rows:
            if row[0] in self._inflight:
                continue  # an entry we already hold must not run twice here
            self._inflight[row[0]] = now
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
        inflight, freed = self._inflight, self._freed
        try:
            async with self._slots:  # one slot for the whole batch: handled in order
                started = time.monotonic()
                # the loop may read again once what is held fits in prefetch (see _room)
                limit = self.prefetch
                plain = self._guard is None and not self._is_async
                for entry_id, fields, deliveries in batch:
                    try:
                        if plain:
                            outcome = self._process_plain(entry_id, fields, deliveries)
                            if outcome.__class__ is not bool:
                                outcome = await outcome  # type: ignore[misc]
                            processed += outcome  # type: ignore[operator]
                        else:
                            processed += await self._process(entry_id, fields, deliveries)
                    except Exception:
                        log.exception("consumer %s: could not settle entry %s", self.name, entry_id)
                    done += 1
                    inflight.pop(entry_id, None)
                    if len(inflight) <= limit and not freed.is_set():
                        freed.set()
                self._handled(done, time.monotonic() - started)
        finally:
            if processed:
                self.stats.add("processed", processed)
            # cancelled (shutdown_timeout): the entries not handled stay pending in Redis
            for entry_id, _fields, _deliveries in batch[done:]:
                self._release(entry_id)

    def _handled(self, count: int, seconds: float) -> None:
        self._sizer.handled(count, seconds)

    async def _settle(self, entry_id: str, fields: Any, deliveries: int) -> None:
        try:
            async with self._slots:
                started = time.monotonic()
                if await self._process(entry_id, fields, deliveries):
                    self.stats.add("processed")
                self._handled(1, time.monotonic() - started)
        except Exception:
            log.exception("consumer %s: could not settle entry %s", self.name, entry_id)
        finally:
            self._release(entry_id)

    async def _process(self, entry_id: str, fields: Any, deliveries: int) -> bool:
        """Handle one entry; True when its handler returned (the caller counts it processed:
        once per batch, not once per message)."""
        step = self._prepare(entry_id, fields, deliveries)
        if isinstance(step, commands.Settle):
            return await self._unhandled(entry_id, deliveries, step, fields)
        guard = self._guard
        if guard is not None and not guard.taken(
            entry_id, await self._scripts.guard(*guard.take_call(entry_id, deliveries))
        ):
            # another live consumer runs it now: handed back to it, it acknowledges it
            log.info("consumer %s: %s is being processed by another consumer", self.name, entry_id)
            await self._count_duplicate()
            return False
        try:
            try:
                result = self.handler(step)
                if self._is_async or (result is not None and inspect.isawaitable(result)):
                    await result  # type: ignore[misc]
            except Exception as exc:
                return await self._failed(entry_id, deliveries, exc, fields)
        finally:
            if guard is not None:
                await self._release_guard(guard, entry_id)
        return await self._succeeded(entry_id, fields)

    def _process_plain(
        self, entry_id: str, fields: Any, deliveries: int
    ) -> bool | Coroutine[Any, Any, bool]:
        """_process for a plain-function handler without guard, as a plain call: True when
        handled and acknowledged, else the coroutine that finishes the work (a retry, a
        dead letter, a notification, an awaitable the handler returned). A batch of fast
        handlers thus costs no coroutine per message."""
        step = self._prepare(entry_id, fields, deliveries)
        if isinstance(step, commands.Settle):
            return self._unhandled(entry_id, deliveries, step, fields)
        try:
            result = self.handler(step)
        except Exception as exc:
            return self._failed(entry_id, deliveries, exc, fields)
        if result is not None and inspect.isawaitable(result):
            return self._awaited(entry_id, deliveries, result, fields)
        if entries.reply_target(fields) is not None:
            return self._succeeded(entry_id, fields)
        self._acks.append(entry_id)
        return True

    async def _awaited(
        self, entry_id: str, deliveries: int, result: Awaitable[object], fields: Any
    ) -> bool:
        try:
            await result
        except Exception as exc:
            return await self._failed(entry_id, deliveries, exc, fields)
        return await self._succeeded(entry_id, fields)

    async def _unhandled(
        self, entry_id: str, deliveries: int, step: commands.Settle, fields: Any
    ) -> bool:
        if step.action == "ack":
            self._acks.append(entry_id)
        else:
            await self._dead_letter(entry_id, deliveries, step.reason, step.error, "", fields)
        return False

    async def _succeeded(self, entry_id: str, fields: Any) -> bool:
        target = entries.reply_target(fields)
        if target is not None:
            await self._notify(target, entry_id, "done", "")
        self._acks.append(entry_id)
        return True

    async def _failed(self, entry_id: str, deliveries: int, exc: Exception, fields: Any) -> bool:
        if isinstance(exc, AlreadyProcessed):
            await self._count_duplicate()
            self._acks.append(entry_id)  # acknowledged, not run again
            return False
        self.stats.add("failed")
        decision = self.config.decide_failure(deliveries)
        if decision.action == commands.DEAD_LETTER:
            await self._dead_letter(
                entry_id,
                deliveries,
                deadletter.MAX_DELIVERIES,
                deadletter.describe(exc),
                deadletter.traceback_tail(exc),
                fields,
            )
        else:
            await self._retry(entry_id, deliveries, exc, fields, decision.delay)
        return False

    async def _release_guard(self, guard: ProcessingGuard, entry_id: str) -> None:
        try:
            await self._scripts.guard(*guard.release_call(entry_id))
        except redis.RedisError as exc:
            # the handler's outcome stands; the token just expires (2 * claim_idle)
            log.warning(
                "consumer %s: could not release the token of %s: %s", self.name, entry_id, exc
            )

    async def _count_duplicate(self) -> None:
        """One more delivery of this group that was not run again (visible in Manager.info)."""
        self.stats.add("duplicates")
        try:
            await self.client.hincrby(self.keys.duplicates, self.group, 1)
        except redis.RedisError as exc:
            # only the counter is lost; the message itself is settled as usual
            log.warning("consumer %s: could not count a duplicate delivery: %s", self.name, exc)

    async def _retry(
        self, entry_id: str, deliveries: int, exc: Exception, fields: Any, delay: float
    ) -> None:
        keys, args = commands.retry_call(
            self.keys, self.group, entry_id, self.name, deliveries, delay=delay, fields=fields
        )
        log.warning(
            "consumer %s: handler failed on %s (delivery %d of %d): %s; retry in %.2fs",
            self.name,
            entry_id,
            deliveries,
            self.max_deliveries,
            deadletter.describe(exc),
            delay,
        )
        parked = await self._scripts.retry(keys=keys, args=args)
        if parked == commands.RETRY_PARKED:
            self.stats.add("retried")
        elif parked == commands.RETRY_TRIMMED:  # its data was trimmed away meanwhile
            self.stats.add("dead_lettered")

    async def _dead_letter(
        self,
        entry_id: str,
        deliveries: int,
        reason: str,
        error: str,
        trace: str,
        fields: Any = None,
    ) -> None:
        log.warning(
            "consumer %s: dead-lettering %s at delivery %d (%s): %s",
            self.name,
            entry_id,
            deliveries,
            reason,
            error,
        )
        keys, args = commands.dead_letter_call(
            self.keys, self.queue, self.group, entry_id, self.name, deliveries, reason, error, trace
        )
        if await self._scripts.dead_letter(keys=keys, args=args):
            self.stats.add("dead_lettered")
            target = entries.reply_target(fields) if fields else None
            if target is not None:
                await self._notify(target, entry_id, "dead", error)

    async def _notify(
        self, target: tuple[str, str], entry_id: str, status: str, error: str
    ) -> None:
        keys, args = commands.notify_call(self.keys, target, entry_id, status, error)
        try:
            await self._scripts.notify(keys=keys, args=args)
        except redis.RedisError as exc:
            log.warning("consumer %s: could not notify producer %s: %s", self.name, target[0], exc)

    # ------------------------------------------------------------------ helper tasks

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, but wake when stopped; True when stopped."""
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=max(0.0, seconds))
        except TimeoutError:
            return False
        return True

    async def _mover_main(self) -> None:
        backoff = Backoff(base=0.1, cap=2.0)
        wait = 0.0
        while not await self._sleep(wait):
            try:
                moved, next_due = await self._move_due()
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

    async def _heartbeat_main(self) -> None:
        next_touch = time.monotonic() + self.heartbeat_interval
        while True:
            stopping = await self._sleep(self.ack_interval)
            try:
                await self._flush_acks()
                if time.monotonic() >= next_touch:
                    next_touch = time.monotonic() + self.heartbeat_interval
                    await self._touch()
                    if self._guard is not None and (call := self._guard.refresh_call()):
                        await self._scripts.guard(*call)
            except UNAVAILABLE_ERRORS as exc:
                log.debug("consumer %s: heartbeat could not reach Redis: %s", self.name, exc)
            except Exception:
                log.exception("consumer %s: heartbeat failed", self.name)
            if stopping:
                return

    async def _shut_down(self, helpers: list[asyncio.Task[None]]) -> None:
        finished = await self._wait_idle(self.shutdown_timeout)
        if not finished:
            # nothing may handle after run() returns: cancel the handlers still running and
            # those waiting for a slot; their entries stay pending for other consumers
            left = [t for t in self._tasks if not t.done()]
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)
            log.warning(
                "consumer %s: %d messages still in flight after shutdown_timeout=%ss were "
                "cancelled; they stay pending for other consumers to claim",
                self.name,
                len(left),
                self.shutdown_timeout,
            )
        await asyncio.gather(*helpers, return_exceptions=True)
        try:
            await self._flush_acks()
            if finished:
                keys, args = commands.delete_consumer_call(self.keys, self.group, self.name)
                await self._scripts.delete_consumer(keys=keys, args=args)
        except redis.RedisError as exc:
            log.warning("consumer %s: could not settle with Redis on exit: %s", self.name, exc)
