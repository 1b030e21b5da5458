"""Ordered mode of the asyncio consumer, as queues.Consumer's: one active consumer per group,
holding an expiring lock (ordered_lock.lua); a new holder takes over what inactive
predecessors held (ordered_takeover.lua), then handles everything strictly in id order, one
entry at a time, retrying a failed one in place before anything newer.

A handler past ``handler_timeout`` is cancelled and the group let go: the lock is no longer
refreshed, so it expires and a waiting consumer takes the group over (with the entry); this
one then waits its turn like any other.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import redis

from queues import commands, deadletter
from queues.backoff import Backoff
from queues.commands import Delivery
from queues.connection import UNAVAILABLE_ERRORS
from queues.entries import text
from queues.exceptions import GroupLost, OrderedConsumerActive, QueueUnavailable

from .handling import FAILED, LET_GO, log

if TYPE_CHECKING:
    from . import Consumer
    from .engine import Engine


class Ordered:
    def __init__(self, consumer: Consumer, engine: Engine) -> None:
        self.c = consumer
        self.e = engine
        self.lock_key = engine.keys.ordered_lock(consumer.group)
        self.holding = False
        self.confirmed_at = 0.0  # monotonic time Redis last said this one holds the lock
        self.own_pending = True
        self.waiting_for = ""
        self.next_beat = 0.0

    async def run(self, burst: bool) -> None:
        c, e = self.c, self.e
        backoff = Backoff(base=0.1, cap=2.0)
        self.holding = False
        self.own_pending = True
        while not c._stop.is_set():
            try:
                if not e._ready:
                    await e.start_up()
                if not self.holding and not await self._acquire():
                    continue
                if self.own_pending:
                    if await self._batch(await self._read_own()) == 0:
                        self.own_pending = False
                    continue
                found = await self._batch(await self._read_new(None if burst else c.block_ms))
                if burst and found == 0 and not self.own_pending:
                    return
                backoff.reset()
            except (OrderedConsumerActive, GroupLost):
                raise
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc):
                    e._ready = False
                    continue
                if "NOTHOLDER" in str(exc):
                    self.holding = False
                    continue
                if burst:
                    raise
                log.exception("consumer %s: unexpected Redis error", c.name)
                await c._sleep(backoff.next())
            except UNAVAILABLE_ERRORS as exc:
                if burst:
                    raise QueueUnavailable(c.address, str(exc)) from exc
                delay = backoff.next()
                log.warning(
                    "consumer %s: Redis at %s unavailable (%s); retrying in %.2fs",
                    c.name,
                    c.address,
                    exc,
                    delay,
                )
                await c._sleep(delay)

    async def _lock(self, release: bool = False) -> str:
        ttl = 1 if release else int(self.c.lock_ttl * 1000)
        reply = await self.e._scripts.ordered_lock(
            keys=[self.lock_key], args=[self.c.name, ttl, "1" if release else "0"]
        )
        return text(reply)

    async def _acquire(self) -> bool:
        c = self.c
        holder = await self._lock()
        if holder != c.name:
            if c.on_active == "exit":
                raise OrderedConsumerActive(c.queue, c.group, holder)
            if holder != self.waiting_for:  # say it once per holder, not every poll
                self.waiting_for = holder
                log.info(
                    "consumer %s: %r is the active consumer of ordered group %r; waiting",
                    c.name,
                    holder,
                    c.group,
                )
            await c._sleep(min(1.0, c.lock_ttl / 3))
            return False
        self.holding = True
        self.confirmed_at = time.monotonic()
        # the predecessors lost the lock, so none of them works any more: take all they hold
        keys, args = commands.ordered_takeover_call(self.e.keys, self.lock_key, c.group, c.name)
        while True:
            step = commands.read_takeover(
                await self.e._scripts.ordered_takeover(keys=keys, args=args)
            )
            if step.taken:
                c.stats.add("claimed", step.taken)
                log.warning(
                    "consumer %s: took over %d pending entries of inactive predecessors",
                    c.name,
                    step.taken,
                )
            if step.dead_lettered:  # their data was trimmed away: nothing left to handle
                c.stats.add("dead_lettered", step.dead_lettered)
            if step.done:
                break
        self.own_pending = True
        return True

    async def _read_own(self) -> list[Delivery]:
        """This consumer's oldest pending entry, re-delivered (counter + 1). One at a time:
        the entries behind a failing one must not count a delivery per retry of it."""
        c, e = self.c, self.e
        while True:
            rows = await c.client.xpending_range(
                e.keys.stream, c.group, "-", "+", 1, consumername=c.name
            )
            if not rows:
                return []
            entry_id = text(rows[0]["message_id"])
            deliveries = int(rows[0]["times_delivered"])
            gone = "entry data was deleted before it was acknowledged"
            if not await c.client.xrange(e.keys.stream, entry_id, entry_id):
                # trimmed away: dead-lettered with its id, as the claim scan does
                await e._dead_letter(entry_id, deliveries, deadletter.TRIMMED, gone, "")
                continue
            claimed: list[Any] = await c.client.xclaim(
                e.keys.stream, c.group, c.name, 0, [entry_id]
            )
            if claimed and claimed[0][1] is not None:
                return [Delivery(entry_id, claimed[0][1], deliveries + 1)]
            # trimmed between the two calls: XCLAIM dropped it from the pending list
            await e._dead_letter(
                entry_id, deliveries, deadletter.TRIMMED, gone, "", owned_only=False
            )

    async def _read_new(self, block_ms: int | None) -> list[Delivery]:
        e = self.e
        reply = await self.c.client.xreadgroup(
            self.c.group, self.c.name, {e.keys.stream: ">"}, count=e.batch_size, block=block_ms
        )
        rows = commands.read_rows(reply)
        e._last_read = commands.newest_read(e._last_read, rows)
        return rows

    async def _batch(self, batch: list[Delivery]) -> int:
        """Handle ``batch`` in order; stop at a failure (it and the rest stay pending)."""
        c, e = self.c, self.e
        try:
            for work in batch:
                if not await self._still_holding():
                    # a successor took the group: the rest stays pending, and it takes it over
                    break
                outcome = await e.handle_in_place(*work)
                if outcome == FAILED:
                    deliveries, delay, exc = e.ordered_failure or (work.deliveries, 0.0, None)
                    log.warning(
                        "consumer %s: handler failed on %s (delivery %d of %d): %s; ordered: "
                        "retrying it in %.2fs before anything newer",
                        c.name,
                        work.id,
                        deliveries,
                        c.max_deliveries,
                        deadletter.describe(exc) if exc else "?",
                        delay,
                    )
                    self.own_pending = True
                    await c._sleep(delay)
                    break
                if outcome == LET_GO:
                    await self._let_go()
                    break
        finally:
            # acknowledged before the next read of this consumer's own pending entries
            await e.flush_acks()
        return len(batch)

    async def _let_go(self) -> None:
        """A handler ran past handler_timeout: stop refreshing the lock so that it expires
        and a waiting consumer takes the group over; wait long enough for one to do so."""
        c = self.c
        self.holding = False
        log.error(
            "consumer %s: a handler of ordered group %r ran longer than handler_timeout=%ss; "
            "letting the lock expire so that another consumer takes the group over",
            c.name,
            c.group,
            c.handler_timeout,
        )
        # the lock expires within lock_ttl; a waiting consumer asks every min(1, lock_ttl/3)
        await c._sleep(2 * c.lock_ttl)

    async def _still_holding(self) -> bool:
        """Whether this consumer may start the next handler: asks Redis when the heartbeat
        has not confirmed the lock lately."""
        if self.holding and time.monotonic() - self.confirmed_at >= self.c.lock_ttl / 2:
            await self._refresh()
        return self.holding

    async def beat(self) -> None:
        """The heartbeat's part: refresh the lock every lock_ttl / 3 while holding it."""
        if not self.holding or time.monotonic() < self.next_beat:
            return
        self.next_beat = time.monotonic() + self.c.lock_ttl / 3
        await self._refresh()

    async def _refresh(self) -> None:
        c = self.c
        holder = await self._lock()
        if holder == c.name:
            if self.holding:
                self.confirmed_at = time.monotonic()
            else:  # let go meanwhile (handler_timeout): do not hold on to it
                await self._lock(release=True)
        elif self.holding:
            self.holding = False
            log.error(
                "consumer %s: lost the lock of ordered group %r to %r (stalled longer than "
                "lock_ttl=%ss?); it now handles this group's entries, and this one starts no "
                "further handler",
                c.name,
                c.group,
                holder,
                c.lock_ttl,
            )

    async def release(self) -> None:
        """On exit: free the group for the next consumer at once."""
        if self.holding:
            self.holding = False
            await self._lock(release=True)
