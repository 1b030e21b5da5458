"""queues.aio.Manager's change check: which streams changed since the fingerprints held, one
script call per batch (``queues.info_watch``: the same calls and the same reading of their
replies as the sync Manager's ``changes``; only the sending differs: one pipeline)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import redis
from redis.asyncio.cluster import RedisCluster

from queues import info as info_mod
from queues import info_watch
from queues.connection import unavailable_as_error
from queues.keys import queue_keys
from queues.types import PlainStream


class ChangeWatch:
    """``changes`` and ``changes_by_batch`` of queues.aio.Manager (a part of it)."""

    client: Any
    address: str
    active_idle_ms: int

    async def changes(
        self,
        names: Sequence[str | PlainStream],
        held: Sequence[str],
        levels: Sequence[Sequence[int]] | None = None,
        *,
        batch: int = info_watch.BATCH,
        events: Sequence[str] | None = None,
    ) -> info_watch.Changes | None:
        """Which of ``names`` changed since the fingerprints ``held`` were taken ("" for one
        never seen), in one pipelined round trip of script calls (see
        queues.Manager.changes). None on a Redis Cluster."""
        parts = await self.changes_by_batch(names, held, levels, batch=batch, events=events)
        if parts is None:
            return None
        return info_watch.merged(iter([part async for part in parts]))

    async def changes_by_batch(
        self,
        names: Sequence[str | PlainStream],
        held: Sequence[str],
        levels: Sequence[Sequence[int]] | None = None,
        *,
        batch: int = info_watch.BATCH,
        events: Sequence[str] | None = None,
    ) -> AsyncIterator[info_watch.Changes] | None:
        """``changes`` one script call at a time (run it to its end; it raises
        QueueUnavailable when Redis cannot be reached). None on a Redis Cluster."""
        if isinstance(self.client, RedisCluster):
            return None
        all_keys = [
            info_mod.plain_keys(n.key) if isinstance(n, PlainStream) else queue_keys(n)
            for n in names
        ]
        text, calls = info_watch.plan_calls(
            all_keys,
            held,
            levels,
            active_idle_ms=self.active_idle_ms,
            batch=batch,
            events=events,
        )
        return self._batches(text, calls)

    async def _batches(
        self, text: str, calls: list[info_watch.Call]
    ) -> AsyncIterator[info_watch.Changes]:
        if not calls:
            return
        with unavailable_as_error(self.address):
            replies = await self._send_all(calls)
            sent = len(calls)
            if isinstance(replies[0], redis.exceptions.NoScriptError):
                # the server lost its scripts: load, send again
                await self.client.script_load(text)
                replies = await self._send_all(calls)
                sent += len(calls) + 1
        for n, (call, reply) in enumerate(zip(calls, replies, strict=True)):
            yield info_watch.read_batch(call, reply, sent if n == 0 else 0)

    async def _send_all(self, calls: list[info_watch.Call]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for _, _, command in calls:
            pipe.execute_command(*command)
        return list(await pipe.execute(raise_on_error=False))
