"""Completion notifications for queues.aio.Producer: the reply stream read by a task.

The same reply stream, heartbeat key and entry layout as queues.notify (the consumer side
is shared); only the waiting differs: a task on the producer's event loop instead of a
thread, and ``await published.wait(timeout)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import redis

from queues.connection import UNAVAILABLE_ERRORS
from queues.entries import text
from queues.keys import QueueKeys
from queues.notify import Subscriber, completion_of
from queues.types import Completion

log = logging.getLogger(__name__)


class Published(str):
    """The id ``await publish(..., notify=True)`` returns; ``await wait(timeout)`` gives
    the outcome."""

    token: str
    _listener: ReplyListener

    def __new__(cls, value: str, token: str, listener: ReplyListener) -> Published:
        self = super().__new__(cls, value)
        self.token = token
        self._listener = listener
        return self

    async def wait(self, timeout: float | None = None) -> Completion | None:
        """The completion (status ``done`` or ``dead``), or None after ``timeout`` s."""
        return await self._listener.wait(self.token, timeout)


class ReplyListener:
    """Reads one producer's reply stream in a task; keeps its heartbeat key alive."""

    def __init__(self, client: Any, keys: QueueKeys, producer_id: str, ttl: float) -> None:
        self.client = client
        self.reply_key = keys.reply(producer_id)
        self.alive_key = keys.producer_alive(producer_id)
        self.ttl_ms = max(100, int(ttl * 1000))
        self._results: dict[str, Completion] = {}
        self._changed = asyncio.Event()
        self._subscribers: list[Subscriber] = []
        self._task: asyncio.Task[None] | None = None
        self._last_id = "0"

    async def start(self) -> None:
        """Set the heartbeat key (before any message names this producer) and listen."""
        if self._task is not None and not self._task.done():
            return
        await self.client.set(self.alive_key, "1", px=self.ttl_ms)
        self._task = asyncio.get_running_loop().create_task(self._main())

    def subscribe(self, callback: Subscriber) -> None:
        self._subscribers.append(callback)

    async def wait(self, token: str, timeout: float | None) -> Completion | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while token not in self._results:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self._results.pop(token)

    async def _main(self) -> None:
        next_beat = 0.0
        while True:
            try:
                if time.monotonic() >= next_beat:
                    await self.client.set(self.alive_key, "1", px=self.ttl_ms)
                    next_beat = time.monotonic() + self.ttl_ms / 3000
                block = max(10, min(1000, self.ttl_ms // 3))
                reply: Any = await self.client.xread({self.reply_key: self._last_id}, block=block)
                for _stream, rows in reply or []:
                    await self._deliver(rows)
            except UNAVAILABLE_ERRORS as exc:
                log.debug("reply listener: Redis unavailable: %s", exc)
                await asyncio.sleep(0.5)
            except Exception:
                log.exception("reply listener failed")
                await asyncio.sleep(0.5)

    async def _deliver(self, rows: list[Any]) -> None:
        done = [completion_of(fields) for _row_id, fields in rows]
        if rows:
            self._last_id = text(rows[-1][0])
            await self.client.xdel(self.reply_key, *[row_id for row_id, _ in rows])
        for completion in done:
            self._results[completion.token] = completion
        self._changed.set()
        for completion in done:
            for callback in list(self._subscribers):
                try:
                    callback(completion)
                except Exception:
                    log.exception("completion subscriber %r failed", callback)

    async def close(self) -> None:
        """Stop listening; delete the reply stream and the heartbeat key."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.client.delete(self.reply_key, self.alive_key)
        except redis.RedisError as exc:
            log.warning("could not delete reply stream %s: %s", self.reply_key, exc)
