"""The Manager's operations on queues, trims, groups and consumers.

queues/aio/admin/operations.py is the source of both twins: queues/admin/operations.py is
made from it by unasync (``python -m tests.support.unasync_twins``; a test fails when it is
stale).
"""

from __future__ import annotations

import redis
from redis import asyncio as aioredis

from queues import trim as trim_mod
from queues.admin import calls
from queues.connection import unavailable_as_error
from queues.entries import text
from queues.exceptions import GroupExists, GroupNotFound
from queues.keys import REGISTRY, queue_keys, stored_keys, validate_name
from queues.scripts import Scripts


class Operations:
    """The queue, trim, group and consumer operations of queues.aio.Manager and (generated)
    queues.Manager."""

    client: aioredis.Redis
    address: str
    _scripts: Scripts

    async def queues(self) -> list[str]:
        """Names of the known queues (registered by producers, consumers, create_queue)."""
        with unavailable_as_error(self.address):
            return sorted(text(name) for name in await self.client.smembers(REGISTRY))  # type: ignore[misc]

    async def create_queue(self, name: str) -> bool:
        """Register ``name`` and create its (empty) stream; False when the stream existed."""
        keys = queue_keys(name)
        with unavailable_as_error(self.address):
            await self.client.sadd(REGISTRY, name)  # type: ignore[misc]
            if await self.client.exists(keys.stream):
                return False
            # XADD with MAXLEN 0 leaves an empty stream behind: a stream with no entries
            await self.client.xadd(keys.stream, {"_": ""}, maxlen=0)
            return True

    async def delete_queue(self, name: str) -> bool:
        """Delete every key of the queue: stream, groups, delayed, dead letters, events,
        priority levels, and what lives under its tag by other names (de-duplication
        markers, reply streams, producer heartbeats, processing tokens, ordered locks)."""
        keys = queue_keys(name)
        with unavailable_as_error(self.address):
            pipe = self.client.pipeline(transaction=False)
            for key in stored_keys(name):
                pipe.delete(key)  # one key per DEL: a cluster pipeline routes by key
            pipe.srem(REGISTRY, name)
            replies = await pipe.execute()
            rest = calls.own_keys(
                keys, [k async for k in self.client.scan_iter(match=keys.pattern, count=1000)]
            )
            for stray in rest:
                await self.client.delete(stray)  # one key per DEL: cluster-safe
        return any(replies) or bool(rest)

    async def purge(self, name: str, *, dead: bool = False) -> int:
        """Remove every entry and delayed message of every priority level and forget the
        de-duplication keys (groups stay, moved to the end, their pending entries
        acknowledged); with ``dead``, the dead letters too. Returns the number of stream
        entries removed. Events, reply streams and ordered-mode locks stay."""
        keys = queue_keys(name)
        with unavailable_as_error(self.address):
            removed = await self._scripts.purge(*calls.purge_call(name))
            # after the script: a marker must not outlive the message it stands for
            scanned = [k async for k in self.client.scan_iter(match=keys.dedup_pattern, count=1000)]
            markers = calls.dedup_markers(keys, scanned)
            for key in markers:
                await self.client.delete(key)  # one key per DEL: cluster-safe
            if dead:
                await self.client.delete(keys.dead)
        return int(removed)

    async def trim(self, name: str, *, maxlen: int | None = None, approximate: bool = False) -> int:
        """Remove entries every group has received and acknowledged; return how many.

        With ``maxlen``, keep at least the newest ``maxlen`` entries too. Never removes an
        undelivered or pending entry, so the stream may stay longer than ``maxlen``. Raises
        TrimRefused when the stream has no groups (then no entry is known to be delivered).
        """
        keys = queue_keys(name)
        with unavailable_as_error(self.address):
            reply = await self._scripts.trim(
                keys=[keys.stream], args=trim_mod.args(approximate, maxlen)
            )
        return trim_mod.parse_reply(name, reply).removed

    async def trim_risk(self, name: str, maxlen: int, *, limit: int = 100_000) -> trim_mod.TrimRisk:
        """What a blind ``XTRIM MAXLEN maxlen`` would drop that groups still need: entries
        removed, and per group how many of them are undelivered or pending. Read-only;
        walks at most ``limit`` entries per count (beyond that ``exact`` is False)."""
        keys = queue_keys(name)
        trim_mod.args(False, maxlen)
        with unavailable_as_error(self.address):
            reply = await self._scripts.trim_risk(keys=[keys.stream], args=[maxlen, max(1, limit)])
        return trim_mod.parse_risk(maxlen, reply)

    async def create_group(self, queue: str, group: str, start: str = "$") -> None:
        """Create ``group`` reading from ``start`` ("$": only new messages, "0": all)."""
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
        """Destroy the group and its pending entries list; False when there was none."""
        keys = queue_keys(queue)
        with unavailable_as_error(self.address):
            try:
                return bool(await self.client.xgroup_destroy(keys.stream, group))
            except redis.ResponseError as exc:
                if "no such key" in str(exc).lower():
                    return False
                raise

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
        """Remove a consumer from the group; return the pending entries it owned.

        Refuses (ConsumerBusy) while it owns pending entries, because deleting it drops
        them from the group. ``hand_to`` first gives every one of them to that consumer
        (XCLAIM, delivery counts unchanged) in the same atomic step, so none is lost: they
        are redelivered like any idle pending entry. ``force=True`` deletes and drops them.
        """
        call = calls.delete_consumer_call(queue, group, consumer, force, hand_to)
        with unavailable_as_error(self.address):
            try:
                reply = await self._scripts.delete_consumer(*call)
            except redis.ResponseError as exc:
                raise calls.group_error(queue, group, exc) from exc
        return calls.consumer_deleted(consumer, reply, force, hand_to)
