"""Handling one entry: decode it, run the handler, and settle the outcome with Redis
(acknowledge, park for a retry, dead-letter, or hold it in ordered mode), notifying a
producer that waits for it. The retry rule itself is commands.decide_failure."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import redis

from queues import commands, deadletter, entries
from queues.commands import Delivery
from queues.consumer.config import ConsumerConfig
from queues.consumer.stats import ABANDONED, FAILED, PROCESSED, SETTLED, SKIPPED, ConsumerStats
from queues.exceptions import AlreadyProcessed
from queues.guard import ProcessingGuard
from queues.keys import QueueKeys
from queues.scripts import Scripts
from queues.types import Message

log = logging.getLogger(__name__)


class Settler:
    """Runs the handler on an entry and settles it; one per engine (one stream)."""

    def __init__(
        self,
        config: ConsumerConfig,
        handler: Callable[[Message], object],
        client: Any,
        keys: QueueKeys,
        scripts: Scripts,
        stats: ConsumerStats,
        closed: threading.Event,
        prepare: commands.Prepare,
    ) -> None:
        self.config = config
        self.handler = handler
        self.client = client
        self.keys = keys
        self.queue = config.queue
        self.group = config.group
        self.name = config.consumer_name
        self.scripts = scripts
        self.stats = stats
        self._closed = closed
        self._prepare = prepare
        #: guard=True: a processing token per message while its handler runs (queues/guard.py)
        self.guard = (
            ProcessingGuard(keys, self.group, self.name, int(config.claim_idle * 2000))
            if config.guard
            else None
        )
        #: ordered mode: the failure that holds the entry last handled (FAILED):
        #: (its delivery, the delay before the next, the error)
        self.held: tuple[int, float, Exception] | None = None
        #: process(work) -> outcome: see _processor
        self.process = self._processor()

    def _processor(self) -> Callable[[Delivery], int]:
        """``process(work)``: decode and handle one entry; PROCESSED or SKIPPED (to
        acknowledge), SETTLED, FAILED (ordered mode: held, see ``held``) or ABANDONED
        (shut down meanwhile). A closure over locals: it runs once per message."""
        prepare, handler, guard, closed = self._prepare, self.handler, self.guard, self._closed
        settle_cls, reply_target = commands.Settle, entries.reply_target

        def process(work: Delivery) -> int:
            step = prepare(work.id, work.fields, work.deliveries)
            if step.__class__ is settle_cls:
                return self._unhandled(work, step)  # type: ignore[arg-type]
            if guard is not None and not self._take_guard(guard, work):
                return SETTLED
            try:
                handler(step)  # type: ignore[arg-type]
            except AlreadyProcessed:
                self.count_duplicate()
                return SKIPPED  # acknowledged, not run again
            except Exception as exc:
                if closed.is_set():
                    return self._abandon(work)
                return self._failed(work, exc)
            finally:
                if guard is not None:
                    self._release_guard(guard, work.id)
            if closed.is_set():
                return self._abandon(work)
            target = reply_target(work.fields)
            if target is not None:
                self.notify(target, work.id, "done", "")
            return PROCESSED

        return process

    def _unhandled(self, work: Delivery, step: commands.Settle) -> int:
        if step.action == "ack":
            return SKIPPED
        self.dead_letter(work, step.reason, step.error, "")
        return SETTLED

    def _take_guard(self, guard: ProcessingGuard, work: Delivery) -> bool:
        if guard.taken(work.id, self.scripts.guard(*guard.take_call(work.id, work.deliveries))):
            return True
        # another live consumer runs it now: handed back to it, it acknowledges it
        log.info("consumer %s: %s is being processed by another consumer", self.name, work.id)
        self.count_duplicate()
        return False

    def _failed(self, work: Delivery, exc: Exception) -> int:
        self.stats.add("failed")
        decision = self.config.decide_failure(work.deliveries)
        if decision.action == commands.DEAD_LETTER:
            self.dead_letter(
                work,
                deadletter.MAX_DELIVERIES,
                deadletter.describe(exc),
                deadletter.traceback_tail(exc),
            )
        elif decision.action == commands.HOLD:
            # nothing after it may run first: it stays ours, pending, and is handled
            # again after the backoff before anything newer (see queues/consumer/ordered.py)
            self.held = (work.deliveries, decision.delay, exc)
            return FAILED
        else:
            self._retry(work, exc, decision.delay)
        return SETTLED

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
            self.config.max_deliveries,
            deadletter.describe(exc),
            delay,
        )
        parked = self.scripts.retry(keys=keys, args=args)
        if parked == commands.RETRY_PARKED:
            self.stats.add("retried")
        elif parked == commands.RETRY_TRIMMED:  # its data was trimmed away meanwhile
            self.stats.add("dead_lettered")

    def dead_letter(self, work: Delivery, reason: str, error: str, trace: str) -> None:
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
        if self.scripts.dead_letter(keys=keys, args=args):
            self.stats.add("dead_lettered")
            target = entries.reply_target(work.fields)
            if target is not None:
                self.notify(target, work.id, "dead", error)

    def notify(self, target: tuple[str, str], entry_id: str, status: str, error: str) -> None:
        keys, args = commands.notify_call(self.keys, target, entry_id, status, error)
        try:
            self.scripts.notify(keys=keys, args=args)
        except redis.RedisError as exc:
            # the message itself is settled; only the producer's notification is lost
            log.warning("consumer %s: could not notify producer %s: %s", self.name, target[0], exc)

    def count_duplicate(self) -> None:
        """One more delivery of this group that was not run again (visible in Manager.info)."""
        self.stats.add("duplicates")
        try:
            self.client.hincrby(self.keys.duplicates, self.group, 1)
        except redis.RedisError as exc:
            # only the counter is lost; the message itself is settled as usual
            log.warning("consumer %s: could not count a duplicate delivery: %s", self.name, exc)

    def refresh_guard(self) -> None:
        """Keep the processing tokens of running handlers alive (the heartbeat's job)."""
        if self.guard is not None and (call := self.guard.refresh_call()) is not None:
            self.scripts.guard(*call)

    def _release_guard(self, guard: ProcessingGuard, entry_id: str) -> None:
        try:
            self.scripts.guard(*guard.release_call(entry_id))
        except redis.RedisError as exc:
            # the handler's outcome stands; the token just expires (2 * claim_idle)
            log.warning(
                "consumer %s: could not release the token of %s: %s", self.name, entry_id, exc
            )

    def _abandon(self, work: Delivery) -> int:
        log.warning(
            "consumer %s: handler of %s returned after the consumer shut down; its outcome "
            "is dropped and the entry stays pending for another consumer",
            self.name,
            work.id,
        )
        return ABANDONED
