"""queues.aio.Manager's reads of library events: the newest ones, or through a consumer group."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import redis
from redis import asyncio as aioredis

from queues import events
from queues.admin import calls
from queues.connection import unavailable_as_error
from queues.keys import queue_keys
from queues.types import Event


class EventFeed:
    """The asyncio twin of queues.admin.event_feed.EventFeed (a part of aio.Manager)."""

    client: aioredis.Redis
    address: str
    _event_groups: set[tuple[str, str]]

    if TYPE_CHECKING:

        async def queues(self) -> list[str]: ...

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
        by_queue = calls.events_by_queue(acked)
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
            self._event_groups.update(calls.event_groups_made(missing, group, created))
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
        found = calls.claimed_events(streams, await pipe.execute())
        if found:
            return found
        new = await self.client.xreadgroup(
            group, consumer, dict.fromkeys(streams, ">"), count=count, block=block_ms
        )
        return await self._events_of(new, streams, group)

    async def _events_of(self, reply: Any, streams: dict[str, str], group: str) -> list[Event]:
        found, gone = calls.read_events_of(reply, streams)
        for key, ids in gone.items():
            await self.client.xack(key, group, *ids)
        return found
