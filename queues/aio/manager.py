"""asyncio Manager: the operations of queues.Manager, awaited.

This module holds the queue, trim, group and consumer operations; the other concerns are
parts in ``queues.aio.admin`` (inspection, pending, dead_letters, event_feed), the twins of
``queues.admin``. What to send and what a reply means is shared with the sync Manager
(``queues.admin.calls``); info comes from the same two-phase plan (queues.info_plan).
"""

from __future__ import annotations

import redis

from queues import info as info_mod
from queues import trim as trim_mod
from queues.admin import calls
from queues.aio.admin.dead_letters import DeadLetters
from queues.aio.admin.event_feed import EventFeed
from queues.aio.admin.inspection import Inspection, run_plan  # noqa: F401 - its home before
from queues.aio.admin.pending import PendingReads
from queues.aio.connection import AsyncRedisLike, address, connect
from queues.connection import unavailable_as_error
from queues.entries import text
from queues.exceptions import GroupExists, GroupNotFound
from queues.keys import REGISTRY, queue_keys, stored_keys, validate_name
from queues.scripts import Scripts
from queues.serializers import JSON, Serializer, resolve


class Manager(Inspection, PendingReads, DeadLetters, EventFeed):
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
            removed = await self._scripts.purge(*calls.purge_call(name))
            scanned = [k async for k in self.client.scan_iter(match=keys.dedup_pattern, count=1000)]
            for key in calls.dedup_markers(keys, scanned):
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
        call = calls.delete_consumer_call(queue, group, consumer, force, hand_to)
        with unavailable_as_error(self.address):
            try:
                reply = await self._scripts.delete_consumer(*call)
            except redis.ResponseError as exc:
                raise calls.group_error(queue, group, exc) from exc
        return calls.consumer_deleted(consumer, reply, force, hand_to)

    async def close(self) -> None:
        """Release the connections of a client the manager created from a URL."""
        if self._owns_client:
            await self.client.aclose()

    def __repr__(self) -> str:
        return f"<aio.Manager at {self.address}>"
