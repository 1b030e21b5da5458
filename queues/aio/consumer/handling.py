"""One entry of the asyncio consumer: decode it, run the handler (bounded by
``handler_timeout``), then acknowledge, retry, dead-letter or let it go.

What to do is decided by queues.commands (shared with queues.Consumer): ``preparer`` before
the handler, ``failure_is_final`` / ``retry_call`` / ``dead_letter_call`` after it. Only the
waiting is asyncio's: a handler past ``handler_timeout`` is cancelled, and its entry is let
go (neither acknowledged nor retried, no longer kept fresh) for another consumer to claim.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import redis

from queues import commands, deadletter, entries
from queues.exceptions import AlreadyProcessed
from queues.guard import ProcessingGuard
from queues.keys import QueueKeys
from queues.scripts import Scripts
from queues.types import Message

log = logging.getLogger("queues.aio.consumer")

#: What _process did with an entry: its handler returned (acknowledged); settled otherwise
#: (acknowledged unhandled, retried, dead-lettered); ordered mode only: failed, it stays
#: pending for a retry in place; its handler ran past handler_timeout and was cancelled.
PROCESSED, SETTLED, FAILED, LET_GO = 1, 0, -1, -2


class Handling:
    """The per-entry half of an Engine (queues/aio/consumer/engine.py)."""

    client: Any
    keys: QueueKeys
    queue: str
    group: str
    name: str
    stats: Any
    handler: Callable[[Message], Any]
    handler_timeout: float | None
    ordered: bool
    max_deliveries: int
    decide_failure: Callable[[int], commands.FailureDecision]
    _is_async: bool
    _prepare: commands.Prepare
    _guard: ProcessingGuard | None
    _scripts: Scripts
    _acks: list[str]
    #: ordered mode: the delivery, the backoff and the error of the last failure (ordered.py)
    ordered_failure: tuple[int, float, Exception] | None = None
    #: set when a handler ran past handler_timeout (ordered mode lets the group go then)
    timed_out: asyncio.Event

    async def _process(self, entry_id: str, fields: Any, deliveries: int) -> int:
        """Handle one entry: PROCESSED, SETTLED, FAILED (ordered) or LET_GO."""
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
            return SETTLED
        try:
            try:
                if self.handler_timeout is None:
                    result = self.handler(step)
                    if self._is_async or (result is not None and inspect.isawaitable(result)):
                        await result
                elif not await self._run_bounded(step):
                    return self._let_go(entry_id, deliveries)
            except Exception as exc:
                return await self._failed(entry_id, deliveries, exc, fields)
        finally:
            if guard is not None:
                await self._release_guard(guard, entry_id)
        return await self._succeeded(entry_id, fields)

    async def _run_bounded(self, message: Message) -> bool:
        """Run the handler for at most handler_timeout seconds from its start; False when it
        ran out of time and was cancelled. (A plain function that blocks cannot be cut
        short: the loop runs nothing else meanwhile. An awaitable it returns can.)"""
        timeout = asyncio.timeout(self.handler_timeout)
        try:
            async with timeout:
                result = self.handler(message)
                if self._is_async or (result is not None and inspect.isawaitable(result)):
                    await result
        except TimeoutError:
            if timeout.expired():
                return False
            raise  # the handler's own TimeoutError: an ordinary failure
        return True

    def _let_go(self, entry_id: str, deliveries: int) -> int:
        log.warning(
            "consumer %s: the handler of %s (delivery %d) ran longer than handler_timeout=%ss "
            "and was cancelled; the entry is no longer kept fresh: another consumer claims "
            "it after claim_idle",
            self.name,
            entry_id,
            deliveries,
            self.handler_timeout,
        )
        self.timed_out.set()
        return LET_GO

    def _process_plain(
        self, entry_id: str, fields: Any, deliveries: int
    ) -> int | Coroutine[Any, Any, int]:
        """_process for a plain-function handler without guard or handler_timeout, as a plain
        call: PROCESSED when handled and acknowledged, else the coroutine that finishes the
        work (a retry, a dead letter, a notification, an awaitable the handler returned).
        A batch of fast handlers thus costs no coroutine per message."""
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
        return PROCESSED

    async def _awaited(
        self, entry_id: str, deliveries: int, result: Awaitable[object], fields: Any
    ) -> int:
        try:
            await result
        except Exception as exc:
            return await self._failed(entry_id, deliveries, exc, fields)
        return await self._succeeded(entry_id, fields)

    async def _unhandled(
        self, entry_id: str, deliveries: int, step: commands.Settle, fields: Any
    ) -> int:
        if step.action == "ack":
            self._acks.append(entry_id)
        else:
            await self._dead_letter(entry_id, deliveries, step.reason, step.error, "", fields)
        return SETTLED

    async def _succeeded(self, entry_id: str, fields: Any) -> int:
        target = entries.reply_target(fields)
        if target is not None:
            await self._notify(target, entry_id, "done", "")
        self._acks.append(entry_id)
        return PROCESSED

    async def _failed(self, entry_id: str, deliveries: int, exc: Exception, fields: Any) -> int:
        if isinstance(exc, AlreadyProcessed):
            await self._count_duplicate()
            self._acks.append(entry_id)  # acknowledged, not run again
            return SETTLED
        self.stats.add("failed")
        decision = self.decide_failure(deliveries)  # the retry rule of both twins
        if decision.action == commands.DEAD_LETTER:
            await self._dead_letter(
                entry_id,
                deliveries,
                deadletter.MAX_DELIVERIES,
                deadletter.describe(exc),
                deadletter.traceback_tail(exc),
                fields,
            )
        elif decision.action == commands.HOLD:
            # ordered: nothing after it may run first: it stays ours, pending, and is
            # handled again after the backoff before anything newer (see ordered.py)
            self.ordered_failure = (deliveries, decision.delay, exc)
            return FAILED
        else:
            await self._retry(entry_id, deliveries, exc, fields, decision.delay)
        return SETTLED

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
        *,
        owned_only: bool = True,
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
            self.keys,
            self.queue,
            self.group,
            entry_id,
            self.name,
            deliveries,
            reason,
            error,
            trace,
            owned_only=owned_only,
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
