"""asyncio Manager: the queue, group and dead-letter operations of queues.Manager, awaited.

Info comes from the same two-phase plan (queues.info) in two pipelined round trips.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import redis

from queues import deadletter, discovery, events, info_plan
from queues import info as info_mod
from queues import manager as sync
from queues import trim as trim_mod
from queues.aio.connection import AsyncRedisLike, address, connect
from queues.connection import unavailable_as_error
from queues.deadletter import REPLAY_CHUNK
from queues.entries import text
from queues.exceptions import GroupExists, GroupNotFound, QueueNotFound
from queues.health import Thresholds, evaluate
from queues.keys import REGISTRY, queue_keys, stored_keys, validate_name
from queues.manager import EVICTION_POLICY_TTL, PENDING_BATCH, checked_stream_info, stream_error
from queues.scripts import Scripts
from queues.serializers import JSON, Serializer, resolve
from queues.types import (
    DeadLetter,
    Event,
    Health,
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
        self._policy: tuple[float, str | None] | None = None
        self._event_groups: set[tuple[str, str]] = set()

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

    async def create_queue(self, name: str) -> bool:
        """Register ``name`` and create its (empty) stream; False when the stream existed."""
        keys = queue_keys(name)
        with unavailable_as_error(self.address):
            await self.client.sadd(REGISTRY, name)  # type: ignore[misc]
            if await self.client.exists(keys.stream):
                return False
            await self.client.xadd(keys.stream, {"_": ""}, maxlen=0)
            return True

    async def purge(self, name: str, *, dead: bool = False) -> int:
        """Remove every entry and delayed message and the de-duplication keys (see
        queues.Manager.purge); with ``dead``, the dead letters too."""
        keys = queue_keys(name)
        with unavailable_as_error(self.address):
            removed = await self._scripts.purge(*sync.purge_call(name))
            scanned = [k async for k in self.client.scan_iter(match=keys.dedup_pattern, count=1000)]
            for key in sync.dedup_markers(keys, scanned):
                await self.client.delete(key)
            if dead:
                await self.client.delete(keys.dead)
        return int(removed)

    async def trim(self, name: str, *, maxlen: int | None = None, approximate: bool = False) -> int:
        """Remove entries every group has acknowledged (see queues.Manager.trim)."""
        keys = queue_keys(name)
        with unavailable_as_error(self.address):
            reply = await self._scripts.trim(
                keys=[keys.stream], args=trim_mod.args(approximate, maxlen)
            )
        return trim_mod.parse_reply(name, reply).removed

    async def trim_risk(self, name: str, maxlen: int, *, limit: int = 100_000) -> trim_mod.TrimRisk:
        """What a blind ``XTRIM MAXLEN maxlen`` would drop (see queues.Manager.trim_risk)."""
        keys = queue_keys(name)
        trim_mod.args(False, maxlen)
        with unavailable_as_error(self.address):
            reply = await self._scripts.trim_risk(keys=[keys.stream], args=[maxlen, max(1, limit)])
        return trim_mod.parse_risk(maxlen, reply)

    async def set_group_id(
        self, queue: str, group: str, entry_id: str, *, entries_read: int | None = None
    ) -> None:
        """Move the group's last-delivered id (rewind to re-deliver, or skip ahead)."""
        keys = queue_keys(queue)
        with unavailable_as_error(self.address):
            try:
                await self.client.xgroup_setid(
                    keys.stream, group, entry_id, entries_read=entries_read
                )
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc) or "no such key" in str(exc).lower():
                    raise GroupNotFound(f"no group {group!r} on queue {queue!r}") from exc
                raise

    async def delete_consumer(
        self,
        queue: str,
        group: str,
        consumer: str,
        *,
        force: bool = False,
        hand_to: str | None = None,
    ) -> int:
        """Remove a consumer from the group (see queues.Manager.delete_consumer): refuses
        with ConsumerBusy while it owns pending entries, unless ``hand_to`` or ``force``."""
        call = sync.delete_consumer_call(queue, group, consumer, force, hand_to)
        with unavailable_as_error(self.address):
            try:
                reply = await self._scripts.delete_consumer(*call)
            except redis.ResponseError as exc:
                raise sync.group_error(queue, group, exc) from exc
        return sync.consumer_deleted(consumer, reply, force, hand_to)

    async def info(self, name: str) -> QueueInfo:
        """Snapshot of one queue; QueueNotFound when it is unknown (see queues.Manager.info)."""
        result = (await self.info_many([name]))[0]
        if not (result.exists or result.dead or result.delayed) and not await self._registered(
            name
        ):
            raise QueueNotFound(f"no queue {name!r} at {self.address}")
        return result

    async def _registered(self, name: str) -> bool:
        with unavailable_as_error(self.address):
            return bool(await self.client.sismember(REGISTRY, name))  # type: ignore[misc]

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
            return await run_plan(self.client, info_plan.info_plan(all_keys, self.active_idle_ms))

    async def pending(
        self,
        queue: str,
        group: str,
        count: int = 100,
        *,
        consumer: str | None = None,
        start: str = "-",
        end: str = "+",
        min_idle_ms: int | None = None,
    ) -> list[PendingEntry]:
        """Pending entries of the group, oldest first (XPENDING detail)."""
        with unavailable_as_error(self.address):
            try:
                rows = await self.client.xpending_range(
                    queue_keys(queue).stream,
                    group,
                    min=start,
                    max=end,
                    count=count,
                    consumername=consumer,
                    idle=min_idle_ms,
                )
            except redis.ResponseError as exc:
                raise sync.group_error(queue, group, exc) from exc
        return info_mod.pending_entries(rows)

    async def pending_many(
        self,
        groups: Sequence[tuple[str | PlainStream, str | bytes]],
        count: int = 100,
        *,
        start: str = "-",
    ) -> list[list[PendingEntry]]:
        """The oldest ``count`` pending entries of each (queue or PlainStream, group)."""
        replies = await self._pending_replies(groups, count, start)
        return sync.pending_lists(groups, replies, self.address)

    async def pending_sample(
        self, groups: Sequence[tuple[str | PlainStream, str | bytes]], count: int = 1000
    ) -> list[list[PendingEntry] | None]:
        """Like ``pending_many``, None for a group that is gone or unreadable."""
        return sync.pending_samples(await self._pending_replies(groups, count, "-"))

    async def _pending_replies(
        self, groups: Sequence[tuple[str | PlainStream, str | bytes]], count: int, start: str
    ) -> list[Any]:
        replies: list[Any] = []
        with unavailable_as_error(self.address):
            for offset in range(0, len(groups), PENDING_BATCH):
                pipe = self.client.pipeline(transaction=False)
                for key, group in sync.pending_targets(groups[offset : offset + PENDING_BATCH]):
                    pipe.xpending_range(key, group, min=start, max="+", count=count)
                replies += await pipe.execute(raise_on_error=False)
        return replies

    async def eviction_policy(self) -> str | None:
        """Redis maxmemory-policy (cached for a minute); None when CONFIG is disabled."""
        now = time.monotonic()
        if self._policy is not None and now - self._policy[0] < EVICTION_POLICY_TTL:
            return self._policy[1]
        with unavailable_as_error(self.address):
            try:
                policy = sync.policy_of(await self.client.config_get("maxmemory-policy"))
            except redis.ResponseError:
                policy = None
        self._policy = (now, policy)
        return policy

    async def health(self, name: str, thresholds: Thresholds | None = None) -> Health:
        """ok / warn / alert of the queue's checks under ``thresholds`` (defaults if None)."""
        return evaluate(
            await self.info(name),
            thresholds or Thresholds(),
            eviction_policy=await self.eviction_policy(),
        )

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
        """Publish dead letters again, as queues.Manager.replay_dead_letters does (to their
        group and level; those present at the start when ids is None; ReplayRefused)."""
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

    async def read_events(
        self,
        queues: Sequence[str],
        group: str,
        consumer: str,
        *,
        count: int = 100,
        block_ms: int | None = None,
        claim_idle_ms: int = 60_000,
    ) -> list[Event]:
        """Read library events of ``queues`` through consumer group ``group`` (at least
        once; see queues.Manager.read_events). Acknowledge them with ack_events()."""
        streams = {queue_keys(q).events: q for q in queues}
        if not streams:
            return []
        with unavailable_as_error(self.address):
            try:
                return await self._read_events(
                    streams, group, consumer, count, block_ms, claim_idle_ms
                )
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                self._event_groups.clear()
                return await self._read_events(
                    streams, group, consumer, count, block_ms, claim_idle_ms
                )

    async def ack_events(self, group: str, acked: Iterable[Event]) -> int:
        """Acknowledge events read with read_events(); return how many were pending."""
        by_queue = sync.events_by_queue(acked)
        if not by_queue:
            return 0
        with unavailable_as_error(self.address):
            pipe = self.client.pipeline(transaction=False)
            for queue, ids in by_queue.items():
                pipe.xack(queue_keys(queue).events, group, *ids)
            return sum(int(n) for n in await pipe.execute())

    async def _read_events(
        self,
        streams: dict[str, str],
        group: str,
        consumer: str,
        count: int,
        block_ms: int | None,
        claim_idle_ms: int,
    ) -> list[Event]:
        missing = [key for key in streams if (key, group) not in self._event_groups]
        if missing:
            pipe = self.client.pipeline(transaction=False)
            for key in missing:
                pipe.xgroup_create(key, group, id="0", mkstream=True)
            created = await pipe.execute(raise_on_error=False)
            self._event_groups.update(sync.event_groups_made(missing, group, created))
        # one server only (aio.connect makes no cluster client): one read covers every stream
        own = await self.client.xreadgroup(
            group, consumer, dict.fromkeys(streams, "0"), count=count
        )
        found = await self._events_of(own, streams, group)
        if found:
            return found
        pipe = self.client.pipeline(transaction=False)
        for key in streams:
            pipe.xautoclaim(key, group, consumer, claim_idle_ms, start_id="0-0", count=count)
        found = sync.claimed_events(streams, await pipe.execute())
        if found:
            return found
        new = await self.client.xreadgroup(
            group, consumer, dict.fromkeys(streams, ">"), count=count, block=block_ms
        )
        return await self._events_of(new, streams, group)

    async def _events_of(self, reply: Any, streams: dict[str, str], group: str) -> list[Event]:
        found, gone = sync.read_events_of(reply, streams)
        for key, ids in gone.items():
            await self.client.xack(key, group, *ids)
        return found

    async def close(self) -> None:
        """Release the connections of a client the manager created from a URL."""
        if self._owns_client:
            await self.client.aclose()

    def __repr__(self) -> str:
        return f"<aio.Manager at {self.address}>"


async def run_plan(client: Any, plan: info_plan.Plan) -> list[QueueInfo]:
    """Drive an info plan (queues.info_plan) on an asyncio client."""
    try:
        step = next(plan)
        while True:
            pipe = client.pipeline(transaction=False)
            step(pipe)
            step = plan.send(await pipe.execute(raise_on_error=False) if len(pipe) else [])
    except StopIteration as done:
        return done.value
