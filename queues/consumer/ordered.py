"""Ordered mode (``ordered=True``): one active consumer per group, holding an expiring lock,
handles the group's entries strictly in id order, one at a time. A failing entry is held in
place (commands.decide_failure: HOLD) and handled again after its backoff, before anything
newer; a successor that takes the lock over takes over what its predecessors held.

Built on one Engine: the loop below reads through it and hands entries to its Settler; the
engine's heartbeat keeps the lock (``OrderedLock.heartbeat``) and its shutdown releases it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis

from queues import commands, deadletter
from queues.commands import Delivery
from queues.consumer.engine import Engine
from queues.consumer.recovery import Recovery
from queues.consumer.stats import FAILED, PROCESSED
from queues.entries import text
from queues.exceptions import OrderedConsumerActive

log = logging.getLogger(__name__)

TRIMMED_ERROR = "entry data was deleted before it was acknowledged"


class OrderedLock:
    """The group's lock: who holds it, refreshed by the heartbeat, released on exit."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.key = engine.keys.ordered_lock(engine.group)
        self.ttl = engine.config.lock_seconds
        self.holding = False
        self.confirmed_at = 0.0  # monotonic time Redis last said this one holds it
        self._next_refresh = 0.0
        self._overdue_said = False

    def ask(self) -> str:
        """Take or refresh the lock; the name of its holder."""
        return text(
            self.engine.scripts.ordered_lock(
                keys=[self.key], args=[self.engine.name, int(self.ttl * 1000), "0"]
            )
        )

    def refresh(self) -> None:
        holder = self.ask()
        engine = self.engine
        if holder == engine.name:
            self.confirmed_at = time.monotonic()
        elif self.holding:
            self.holding = False
            log.error(
                "consumer %s: lost the lock of ordered group %r to %r (stalled longer than "
                "lock_ttl=%ss, or a handler past handler_timeout?); it now handles this "
                "group's entries, and this one starts no further handler",
                engine.name,
                engine.group,
                holder,
                self.ttl,
            )

    def still_holding(self) -> bool:
        """Whether the next handler may start: asks Redis when the heartbeat has not
        confirmed the lock lately (it does not while a handler is stuck past
        handler_timeout, so that the lock expires)."""
        if self.holding and time.monotonic() - self.confirmed_at >= self.ttl / 2:
            self.refresh()
        return self.holding

    def heartbeat(self) -> None:
        """Every ttl/3: refresh, unless a handler is past handler_timeout (then the lock
        expires and another consumer takes the group over)."""
        now = time.monotonic()
        if not self.holding or now < self._next_refresh:
            return
        self._next_refresh = now + self.ttl / 3
        engine = self.engine
        if not engine.handler_overdue():
            self._overdue_said = False
            self.refresh()
        elif not self._overdue_said:  # say it once per stuck handler
            self._overdue_said = True
            log.error(
                "consumer %s: a handler of ordered group %r has run longer than "
                "handler_timeout=%ss; letting the lock expire so that another "
                "consumer takes the group over",
                engine.name,
                engine.group,
                engine.config.handler_timeout,
            )

    def reset(self) -> None:
        """A run starts: not holding; the heartbeat's first refresh after ttl/3."""
        self.holding = False
        self._next_refresh = time.monotonic() + self.ttl / 3

    def release(self) -> None:
        if self.holding:
            self.holding = False
            self.engine.scripts.ordered_lock(keys=[self.key], args=[self.engine.name, 1, "1"])


class OrderedLoop:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock = OrderedLock(engine)
        engine.lock = self.lock
        self._own_pending = True
        self._waiting_for = ""

    def run(self, burst: bool, recovery: Recovery) -> None:
        self.lock.reset()
        self._own_pending = True
        recovery.run(
            lambda: self._turn(burst),
            on_nogroup=self.engine.lost_group,
            on_error_reply=self._not_holder,
        )

    def _not_holder(self, exc: redis.ResponseError) -> bool:
        if "NOTHOLDER" in str(exc):
            self.lock.holding = False
            return True
        return False

    def _turn(self, burst: bool) -> bool:
        engine = self.engine
        if not engine.ready:
            engine.start_up()
        if not self.lock.holding and not self._acquire(burst):
            return False
        if self._own_pending:
            if self._handle(self._read_own()) == 0:
                self._own_pending = False
            return False
        found = self._handle(engine.read_new(engine.sizer.size, None if burst else engine.block_ms))
        return burst and found == 0 and not self._own_pending

    def _acquire(self, burst: bool) -> bool:
        engine = self.engine
        holder = self.lock.ask()
        if holder != engine.name:
            if engine.config.on_active == "exit":
                raise OrderedConsumerActive(engine.queue, engine.group, holder)
            if holder != self._waiting_for:  # say it once per holder, not every poll
                self._waiting_for = holder
                log.info(
                    "consumer %s: %r is the active consumer of ordered group %r; waiting",
                    engine.name,
                    holder,
                    engine.group,
                )
            engine.stop.wait(min(1.0, self.lock.ttl / 3))
            return False
        self.lock.holding = True
        self.lock.confirmed_at = time.monotonic()
        # the predecessors lost the lock, so none of them works any more: take all they hold
        keys, args = commands.ordered_takeover_call(
            engine.keys, self.lock.key, engine.group, engine.name
        )
        while True:
            step = commands.read_takeover(engine.scripts.ordered_takeover(keys=keys, args=args))
            if step.taken:
                engine.stats.add("claimed", step.taken)
                log.warning(
                    "consumer %s: took over %d pending entries of inactive predecessors",
                    engine.name,
                    step.taken,
                )
            if step.dead_lettered:  # their data was trimmed away: nothing left to handle
                engine.stats.add("dead_lettered", step.dead_lettered)
            if step.done:
                break
        self._own_pending = True
        return True

    def _read_own(self) -> list[Delivery]:
        """This consumer's oldest pending entry, re-delivered (counter + 1). One at a time:
        the entries behind a failing one must not count a delivery per retry of it."""
        engine = self.engine
        client, stream = engine.client, engine.keys.stream
        while True:
            rows = client.xpending_range(
                stream, engine.group, "-", "+", 1, consumername=engine.name
            )
            if not rows:
                return []
            entry_id = text(rows[0]["message_id"])
            deliveries = int(rows[0]["times_delivered"])
            if not client.xrange(stream, entry_id, entry_id):
                # its data was trimmed away: dead-lettered with its id, as the claim scan
                # does, so that it does not vanish unseen (XCLAIM would drop it)
                engine.settler.dead_letter(
                    Delivery(entry_id, {}, deliveries), deadletter.TRIMMED, TRIMMED_ERROR, ""
                )
                continue
            claimed: list[Any] = client.xclaim(stream, engine.group, engine.name, 0, [entry_id])  # type: ignore[assignment]
            if claimed and claimed[0][1] is not None:
                return [Delivery(entry_id, claimed[0][1], deliveries + 1)]
            # trimmed between the two calls: XCLAIM dropped it from the pending list, so it
            # is dead-lettered without the ownership check, not left to vanish unseen
            keys, args = commands.dead_letter_call(
                engine.keys,
                engine.queue,
                engine.group,
                entry_id,
                engine.name,
                deliveries,
                deadletter.TRIMMED,
                TRIMMED_ERROR,
                "",
                owned_only=False,
            )
            if engine.scripts.dead_letter(keys=keys, args=args):
                engine.stats.add("dead_lettered")

    def _handle(self, batch: list[Delivery]) -> int:
        """Handle ``batch`` in order; stop at a failure (it and the rest stay pending)."""
        engine = self.engine
        settler = engine.settler
        acks: list[str] = []
        try:
            for work in batch:
                if not self.lock.still_holding():
                    # a successor took the group: the rest stays pending, and it takes it over
                    break
                with engine.cond:
                    engine.inflight[work.id] = time.monotonic()  # for handler_timeout
                try:
                    outcome = settler.process(work)
                finally:
                    with engine.cond:
                        engine.inflight.pop(work.id, None)
                if outcome == FAILED:
                    deliveries, delay, exc = settler.held or (work.deliveries, 0.0, None)
                    log.warning(
                        "consumer %s: handler failed on %s (delivery %d of %d): %s; ordered: "
                        "retrying it in %.2fs before anything newer",
                        engine.name,
                        work.id,
                        deliveries,
                        engine.config.max_deliveries,
                        deadletter.describe(exc) if exc else "?",
                        delay,
                    )
                    self._own_pending = True
                    engine.stop.wait(delay)
                    break
                if outcome > 0:
                    acks.append(work.id)
                    if outcome == PROCESSED:
                        engine.stats.add("processed")
        finally:
            if acks:
                engine.client.xack(engine.keys.stream, engine.group, *acks)
        return len(batch)
