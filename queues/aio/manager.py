"""asyncio Manager: the queue, group and dead-letter operations of queues.Manager, awaited.

Info comes from the same two-phase plan (queues.info) in two pipelined round trips.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import redis

from queues import deadletter, discovery, events
from queues import info as info_mod
from queues.aio.connection import AsyncRedisLike, address, connect
from queues.connection import unavailable_as_error
from queues.deadletter import REPLAY_CHUNK
from queues.entries import text
from queues.exceptions import GroupExists, GroupNotFound, QueueNotFound
from queues.keys import REGISTRY, queue_keys, stored_keys, validate_name
from queues.manager import checked_stream_info, stream_error
from queues.scripts import Scripts
from queues.serializers import JSON, Serializer, resolve
from queues.types import (
    DeadLetter,
    Event,
    PendingEntry,
    PlainStream,
    QueueInfo,
    StreamEntry,
    StreamPage,
)


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

    async def stream_info(self, key: str | bytes) -> QueueInfo:
        """Snapshot of any stream key as a plain stream; StreamNotFound when the key does
        not exist, NotAStream when it holds another type (see queues.Manager.stream_info)."""
        return checked_stream_info((await self.info_many([PlainStream(key)]))[0], self.address)

    async def stream_entries(
        self,
        key: str | bytes,
        *,
        start: str = "-",
        end: str = "+",
        count: int = 50,
        reverse: bool = False,
    ) -> list[StreamEntry]:
        """Entries of any stream (see queues.Manager.stream_entries)."""
        if not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a positive integer, got {count!r}")
        with unavailable_as_error(self.address):
            try:
                if reverse:
                    rows: Any = await self.client.xrevrange(key, start, end, count=count)
                else:
                    rows = await self.client.xrange(key, start, end, count=count)
            except redis.ResponseError as exc:
                raise stream_error(key, exc, self.address) from exc
        return [info_mod.stream_entry(entry_id, fields) for entry_id, fields in rows]

    async def stream_pending(
        self, key: str | bytes, group: str | bytes, count: int = 100, *, start: str = "-"
    ) -> list[PendingEntry]:
        """Pending entries of a group of any stream, oldest first (XPENDING detail)."""
        with unavailable_as_error(self.address):
            try:
                rows = await self.client.xpending_range(key, group, start, "+", count)
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc):
                    raise GroupNotFound(f"no group {group!r} on {key!r}") from exc
                raise stream_error(key, exc, self.address) from exc
        return info_mod.pending_entries(rows)

    async def streams(
        self, match: str = "*", count: int = 1000, *, cursor: str = "0"
    ) -> StreamPage:
        """One bounded page of stream keys (see queues.Manager.streams). One server only:
        the asyncio manager does not walk cluster nodes."""
        discovery.check_page_args(match, count)
        node, scan = discovery.parse_cursor(cursor, 1)
        keys: list[Any] = []
        calls = 0
        with unavailable_as_error(self.address):
            while True:
                scan, found = await self.client.scan(
                    cursor=scan, match=match, count=discovery.scan_count(count), _type="stream"
                )
                calls += 1
                keys.extend(found)
                next_cursor = discovery.next_cursor(node, int(scan), 1)
                if next_cursor == "0" or discovery.page_full(len(keys), count, calls):
                    break
                node, scan = discovery.parse_cursor(next_cursor, 1)
        return StreamPage(tuple(discovery.classify_all(keys)), next_cursor)

    async def info_many(self, names: Iterable[str | PlainStream]) -> list[QueueInfo]:
        """Snapshots of queues and plain streams, the same plan as queues.Manager.info_many."""
        all_keys = [
            info_mod.plain_keys(n.key) if isinstance(n, PlainStream) else queue_keys(n)
            for n in names
        ]
        if not all_keys:
            return []
        with unavailable_as_error(self.address):
            pipe = self.client.pipeline(transaction=False)
            pipe.time()
            for keys in all_keys:
                info_mod.phase_one(pipe, keys)
            replies = await pipe.execute(raise_on_error=False)
            if isinstance(replies[0], Exception):
                raise replies[0]
            now_ms = info_mod.time_ms(replies[0])
            parts = info_mod.read_phase_ones(all_keys, replies[1:])
            levels = [info_mod.level_keys(part) for part in parts]
            all_level_keys = [keys for per_queue in levels for keys in per_queue]
            pipe = self.client.pipeline(transaction=False)
            for part in parts:
                info_mod.phase_two(pipe, part)
            main_count = len(pipe)
            for keys in all_level_keys:
                info_mod.phase_one(pipe, keys)
            replies = await pipe.execute(raise_on_error=False) if len(pipe) else []
            group_replies = replies[:main_count]
            level_parts = info_mod.read_phase_ones(all_level_keys, replies[main_count:])
            level_group_replies: list[Any] = []
            if level_parts:
                pipe = self.client.pipeline(transaction=False)
                for part in level_parts:
                    info_mod.phase_two(pipe, part)
                level_group_replies = await pipe.execute(raise_on_error=False) if len(pipe) else []
        out = info_mod.build_many(parts, group_replies, now_ms, self.active_idle_ms)
        level_infos = iter(
            info_mod.build_many(level_parts, level_group_replies, now_ms, self.active_idle_ms)
        )
        return [
            info_mod.merge_levels(main, [next(level_infos) for _ in per_queue])
            for main, per_queue in zip(out, levels, strict=True)
        ]

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
        """Publish dead letters again, as queues.Manager.replay_dead_letters does (to their
        group and level; those present at the start when ids is None; ReplayRefused)."""
        keys = queue_keys(queue)
        tally = deadletter.ReplayTally(queue)
        with unavailable_as_error(self.address):
            async for chunk in self._dead_chunks(queue, ids):
                call_keys, args = deadletter.replay_call(keys, queue, chunk)
                tally.add(await self._scripts.replay(keys=call_keys, args=args))
        return tally.result()

    async def _dead_chunks(self, queue: str, ids: Sequence[str] | None) -> AsyncIterator[list[str]]:
        if ids is not None:
            ids = list(ids)
            for start in range(0, len(ids), REPLAY_CHUNK):
                yield ids[start : start + REPLAY_CHUNK]
            return
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
