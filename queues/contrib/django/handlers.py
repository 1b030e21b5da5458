"""``idempotent(handler)``: a handler's database writes and the record of its message commit
together, so a redelivered message that already took effect is acknowledged, not run again."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db import IntegrityError, router, transaction

from queues.exceptions import AlreadyProcessed
from queues.types import Message

SyncHandler = Callable[[Message], object]
AsyncHandler = Callable[[Message], Awaitable[object]]
H = TypeVar("H", SyncHandler, AsyncHandler)


def idempotent(handler: H, *, using: str | None = None) -> H:
    """Wrap ``handler`` so it runs inside ``transaction.atomic(using)`` together with an
    INSERT of (queue, group, message id) into ProcessedMessage.

    - the row already exists (the message took effect before, its ack was lost): the
      wrapper raises ``AlreadyProcessed`` without running ``handler``; the consumer
      acknowledges the message and counts a duplicate delivery for the group;
    - ``handler`` raises: its writes and the row roll back together, the consumer retries;
    - two consumers run the same message at once: the second INSERT waits for the first
      transaction (PostgreSQL row lock, SQLite database lock) and then either fails (the
      first committed: ``AlreadyProcessed``) or goes ahead (the first rolled back).

    Only writes through the database ``using`` (default: the router's write database for
    ProcessedMessage) are covered; an email sent or an HTTP call made by the handler is not.
    An ``async def`` handler gets an ``async def`` wrapper for ``queues.aio.Consumer``: the
    transaction runs in Django's sync thread (``sync_to_async``) and the handler inside it
    (``async_to_sync``), so its ORM calls (``acreate``, ``sync_to_async``) share the
    transaction; such handlers of one process therefore run one at a time.
    """
    if inspect.iscoroutinefunction(handler):
        return _idempotent_async(handler, using)  # type: ignore[return-value]
    if not callable(handler):
        raise TypeError("idempotent() takes a handler: handler(message) -> None")

    @functools.wraps(handler)
    def run_once(message: Message) -> None:
        run_recorded(handler, message, using)

    return run_once  # type: ignore[return-value]


def _idempotent_async(handler: AsyncHandler, using: str | None) -> AsyncHandler:
    from asgiref.sync import async_to_sync, sync_to_async

    def in_sync_thread(message: Message) -> None:
        run_recorded(async_to_sync(handler), message, using)

    in_thread = sync_to_async(in_sync_thread, thread_sensitive=True)

    @functools.wraps(handler)
    async def run_once(message: Message) -> None:
        await in_thread(message)

    return run_once


def run_recorded(handler: Callable[[Message], Any], message: Message, using: str | None) -> None:
    """Record ``message`` and run ``handler`` in one transaction; AlreadyProcessed when the
    record exists (its transaction committed before)."""
    from queues.contrib.django.models import ProcessedMessage  # the app registry is ready now

    database = using or router.db_for_write(ProcessedMessage)
    recorded = False
    try:
        with transaction.atomic(using=database):
            ProcessedMessage.objects.using(database).create(
                queue=message.queue,
                group=message.group,
                message_id=message.id,
                message_ms=int(message.id.split("-", 1)[0]),
                processed_at=datetime.now(UTC),
            )
            recorded = True
            handler(message)
    except IntegrityError:
        if recorded:
            raise  # the handler's own constraint failed: a real failure, retried
        raise AlreadyProcessed(
            f"message {message.id} of {message.queue!r}/{message.group!r} was processed before"
        ) from None
