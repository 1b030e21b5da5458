"""The Manager's dead-letter operations: read, count, replay, delete.

queues/aio/admin/dead_letters.py is the source of both twins: queues/admin/dead_letters.py
is made from it by unasync (``python -m tests.support.unasync_twins``; a test fails when it
is stale).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from redis import asyncio as aioredis

from queues import deadletter
from queues.connection import unavailable_as_error
from queues.deadletter import REPLAY_CHUNK
from queues.entries import text
from queues.keys import queue_keys
from queues.scripts import Scripts
from queues.serializers import Serializer
from queues.types import DeadLetter


class DeadLetters:
    """The dead-letter operations of queues.aio.Manager and (generated) queues.Manager."""

    client: aioredis.Redis
    address: str
    _scripts: Scripts
    _serializers: dict[str, Serializer]

    async def dead_letters(
        self,
        queue: str,
        count: int = 100,
        *,
        start: str = "-",
        end: str = "+",
        newest_first: bool = False,
    ) -> list[DeadLetter]:
        """Dead letters of the queue with ids from ``start`` to ``end`` (inclusive; "(" before
        an id excludes it), oldest first, or newest first with ``newest_first``."""
        dead = queue_keys(queue).dead
        with unavailable_as_error(self.address):
            if newest_first:
                rows: Any = await self.client.xrevrange(dead, end, start, count=count)
            else:
                rows = await self.client.xrange(dead, start, end, count=count)
        return [deadletter.parse(i, f, self._serializers) for i, f in rows]

    async def dead_letter_count(self, queue: str) -> int:
        """How many dead letters the queue holds."""
        with unavailable_as_error(self.address):
            return int(await self.client.xlen(queue_keys(queue).dead))

    async def replay_dead_letters(self, queue: str, ids: Sequence[str] | None = None) -> int:
        """Publish dead letters again (to the group that failed them, at the priority level
        they failed at) and remove them from the dead-letter stream; all of them when
        ``ids`` is None (those present when the call starts, not those dead-lettered while
        it runs). Returns how many. Raises ReplayRefused, after replaying the others, when
        some belong to a group that does not read their stream (left in place)."""
        keys = queue_keys(queue)
        tally = deadletter.ReplayTally(queue)
        with unavailable_as_error(self.address):
            async for chunk in self._dead_chunks(queue, ids):
                call_keys, args = deadletter.replay_call(keys, queue, chunk)
                tally.add(await self._scripts.replay(keys=call_keys, args=args))
        return tally.result()

    async def delete_dead_letters(self, queue: str, ids: Sequence[str] | None = None) -> int:
        """Delete dead letters (all when ``ids`` is None); return how many."""
        keys = queue_keys(queue)
        with unavailable_as_error(self.address):
            if ids is None:
                pipe = self.client.pipeline(transaction=True)
                pipe.xlen(keys.dead)
                pipe.delete(keys.dead)
                count, _ = await pipe.execute()
                return int(count)
            if not ids:
                return 0
            return int(await self.client.xdel(keys.dead, *ids))

    async def _dead_chunks(self, queue: str, ids: Sequence[str] | None) -> AsyncIterator[list[str]]:
        if ids is not None:
            ids = list(ids)
            for start in range(0, len(ids), REPLAY_CHUNK):
                yield ids[start : start + REPLAY_CHUNK]
            return
        # Walk by id up to the newest dead letter now: entries left in place are passed
        # over, and those written during the walk are not replayed again and again.
        dead = queue_keys(queue).dead
        newest: Any = await self.client.xrevrange(dead, "+", "-", count=1)
        if not newest:
            return
        cursor, end = "-", text(newest[0][0])
        while True:
            rows: Any = await self.client.xrange(dead, cursor, end, count=REPLAY_CHUNK)
            if not rows:
                return
            chunk = [text(entry_id) for entry_id, _ in rows]
            yield chunk
            cursor = f"({chunk[-1]}"
