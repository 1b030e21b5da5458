"""asyncio Manager: the queue, group and dead-letter operations of queues.Manager, awaited.

Info comes from the same two-phase plan (queues.info) in two pipelined round trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from queues import deadletter, events
from queues import info as info_mod
from queues.aio.connection import AsyncRedisLike, address, connect
from queues.connection import unavailable_as_error
from queues.entries import text
from queues.exceptions import GroupExists, GroupNotFound, QueueNotFound
from queues.keys import REGISTRY, queue_keys, stored_keys, validate_name
from queues.manager import REPLAY_CHUNK
from queues.scripts import Scripts
from queues.serializers import JSON, Serializer, resolve
from queues.types import DeadLetter, Event, PendingEntry, QueueInfo


class Manager:
    """Queues, groups, info, pending entries, dead letters and events from asyncio code."""

    def __init__(
        self,
        redis: AsyncRedisLike,
        *,
        active_idle_ms: int = info_mod.DEFAULT_ACTIVE_IDLE_MS,
        serializer: Serializer | None = None,
    ) -> None:
        self.client = connect(redis)
        self._owns_client = self.client is not redis
        self.address = address(self.client)
        self.active_idle_ms = active_idle_ms
        serializer = resolve(serializer)
        self._serializers = {JSON.content_type: JSON, serializer.content_type: serializer}
        self._scripts = Scripts(self.client)

    async def queues(self) -> list[str]:
        with unavailable_as_error(self.address):
            return sorted(text(n) for n in await self.client.smembers(REGISTRY))  # type: ignore[misc]

    async def create_group(self, queue: str, group: str, start: str = "$") -> None:
        keys = queue_keys(queue)
        validate_name(group, "group name")
        with unavailable_as_error(self.address):
            try:
                await self.client.xgroup_create(keys.stream, group, id=start, mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" in str(exc):
                    raise GroupExists(f"group {group!r} already exists on queue {queue!r}") from exc
                raise
            await self.client.sadd(REGISTRY, queue)  # type: ignore[misc]

    async def delete_group(self, queue: str, group: str) -> bool:
        with unavailable_as_error(self.address):
            try:
                return bool(await self.client.xgroup_destroy(queue_keys(queue).stream, group))
            except redis.ResponseError as exc:
                if "no such key" in str(exc).lower():
                    return False
                raise

    async def delete_queue(self, name: str) -> bool:
        with unavailable_as_error(self.address):
            pipe = self.client.pipeline(transaction=False)
            for key in stored_keys(name):
                pipe.delete(key)
            pipe.srem(REGISTRY, name)
            return any(await pipe.execute())

    async def info(self, name: str) -> QueueInfo:
        """Snapshot of one queue; QueueNotFound when it is unknown."""
        keys = queue_keys(name)
        with unavailable_as_error(self.address):
            pipe = self.client.pipeline(transaction=False)
            pipe.time()
            info_mod.phase_one(pipe, keys)
            replies = await pipe.execute(raise_on_error=False)
            if isinstance(replies[0], Exception):
                raise replies[0]
            now_ms = info_mod.time_ms(replies[0])
            part = info_mod.read_phase_one(keys, replies[1:])
            levels = info_mod.level_keys(part)
            pipe = self.client.pipeline(transaction=False)
            info_mod.phase_two(pipe, part)
            main_count = len(pipe)
            for level in levels:
                info_mod.phase_one(pipe, level)
            replies = await pipe.execute(raise_on_error=False) if len(pipe) else []
            group_replies = replies[:main_count]
            level_parts = info_mod.read_phase_ones(levels, replies[main_count:])
            level_replies: list[Any] = []
            if level_parts:
                pipe = self.client.pipeline(transaction=False)
                for level_part in level_parts:
                    info_mod.phase_two(pipe, level_part)
                level_replies = await pipe.execute(raise_on_error=False) if len(pipe) else []
        level_infos = info_mod.build_many(level_parts, level_replies, now_ms, self.active_idle_ms)
        result = info_mod.merge_levels(
            info_mod.build(part, group_replies, now_ms, self.active_idle_ms), level_infos
        )
        if not (result.exists or part.registered or result.dead or result.delayed):
            raise QueueNotFound(f"no queue {name!r} at {self.address}")
        return result

    async def pending(
        self, queue: str, group: str, count: int = 100, *, consumer: str | None = None
    ) -> list[PendingEntry]:
        with unavailable_as_error(self.address):
            try:
                rows = await self.client.xpending_range(
                    queue_keys(queue).stream, group, "-", "+", count, consumername=consumer
                )
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc):
                    raise GroupNotFound(f"no group {group!r} on queue {queue!r}") from exc
                raise
        return info_mod.pending_entries(rows)

    async def dead_letters(self, queue: str, count: int = 100) -> list[DeadLetter]:
        with unavailable_as_error(self.address):
            rows: Any = await self.client.xrange(queue_keys(queue).dead, "-", "+", count=count)
        return [deadletter.parse(i, f, self._serializers) for i, f in rows]

    async def replay_dead_letters(self, queue: str, ids: Sequence[str] | None = None) -> int:
        """Publish dead letters again (to the group that failed them); all when ids is None."""
        keys = queue_keys(queue)
        replayed = 0
        with unavailable_as_error(self.address):
            if ids is None:
                rows: Any = await self.client.xrange(keys.dead, "-", "+")
                ids = [text(i) for i, _ in rows or []]
            ids = list(ids)
            for start in range(0, len(ids), REPLAY_CHUNK):
                replayed += int(
                    await self._scripts.replay(
                        keys=[keys.stream, keys.dead, keys.events],
                        args=[queue, events.MAX_EVENTS, *ids[start : start + REPLAY_CHUNK]],
                    )
                )
        return replayed

    async def events(self, count: int = 100, queue: str | None = None) -> list[Event]:
        names = [queue] if queue is not None else await self.queues()
        with unavailable_as_error(self.address):
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.xrevrange(queue_keys(name).events, "+", "-", count=count)
            replies = await pipe.execute() if names else []
        streams = [[events.parse(i, f) for i, f in rows] for rows in replies]
        return events.merge_newest(streams, count)

    async def close(self) -> None:
        if self._owns_client:
            await self.client.aclose()
