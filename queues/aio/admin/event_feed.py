"""The Manager's reads of library events: the newest ones, or through a consumer group.

queues/aio/admin/event_feed.py is the source of both twins: queues/admin/event_feed.py is
made from it by unasync (``python -m tests.support.unasync_twins``; a test fails when it is
stale).
"""

from __future__ import annotations

import time
from asyncio import sleep
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import redis
from redis import asyncio as aioredis

from queues import events
from queues.admin.calls import (
    EVENT_POLL_INTERVAL,
    claimed_events,
    event_groups_made,
    events_by_queue,
    read_events_of,
)
from queues.connection import by_slot, unavailable_as_error
from queues.keys import queue_keys
from queues.types import Event


class EventFeed:
    """The event reads of queues.aio.Manager and (generated) queues.Manager."""

    client: aioredis.Redis
    address: str
    _event_groups: set[tuple[str, str]]

    if TYPE_CHECKING:

        async def queues(self) -> list[str]: ...

    async def events(self, count: int = 100, queue: str | None = None) -> list[Event]:
        """The ``count`` most recent library events (of one queue or all), newest last."""
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
        claim_idle_ms: int | None = 60_000,
    ) -> list[Event]:
        """Read library events of ``queues`` through consumer group ``group`` (at least once).

        Returns, in this order of preference: events this consumer read before but never
        acknowledged (it crashed before recording them), events another consumer of the
        group left pending longer than ``claim_idle_ms`` (None: not looked for, which saves
        one command per stream), then new events (waiting up to
        ``block_ms`` for some; None = do not wait). Acknowledge each after recording it
        with ack_events(). The group is created at the start of each events stream, so no
        event written before the first read is missed. Blocking only with ``block_ms``.
        """
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
                # a stream was deleted (or Redis restarted empty): create the groups again
                self._event_groups.clear()
                return await self._read_events(
                    streams, group, consumer, count, block_ms, claim_idle_ms
                )

    async def ack_events(self, group: str, acked: Iterable[Event]) -> int:
        """Acknowledge events read with read_events(); return how many were pending."""
        by_queue = events_by_queue(acked)
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
        claim_idle_ms: int | None,
    ) -> list[Event]:
        missing = [key for key in streams if (key, group) not in self._event_groups]
        if missing:
            pipe = self.client.pipeline(transaction=False)
            for key in missing:
                pipe.xgroup_create(key, group, id="0", mkstream=True)
            created = await pipe.execute(raise_on_error=False)
            self._event_groups.update(event_groups_made(missing, group, created))
        # XREADGROUP names several streams only within one hash slot on a cluster
        batches = by_slot(self.client, streams)
        # 1. our own pending events: read but never acknowledged
        found = []
        for batch in batches:
            own = await self.client.xreadgroup(
                group, consumer, dict.fromkeys(batch, "0"), count=count
            )
            found += await self._events_of(own, streams, group)
        if found:
            return found
        # 2. pending events of a consumer of the group that went away
        if claim_idle_ms is not None:
            pipe = self.client.pipeline(transaction=False)
            for key in streams:
                pipe.xautoclaim(key, group, consumer, claim_idle_ms, start_id="0-0", count=count)
            found = claimed_events(streams, await pipe.execute())
            if found:
                return found
        # 3. new events
        if len(batches) == 1:
            new = await self.client.xreadgroup(
                group, consumer, dict.fromkeys(streams, ">"), count=count, block=block_ms
            )
            return await self._events_of(new, streams, group)
        # streams on several cluster nodes: no single blocking read covers them, so poll
        deadline = None if not block_ms else time.monotonic() + block_ms / 1000
        while True:
            for batch in batches:
                new = await self.client.xreadgroup(
                    group, consumer, dict.fromkeys(batch, ">"), count=count
                )
                found += await self._events_of(new, streams, group)
            if found or block_ms is None:
                return found
            if deadline is not None and time.monotonic() >= deadline:
                return found
            await sleep(EVENT_POLL_INTERVAL)

    async def _events_of(self, reply: Any, streams: dict[str, str], group: str) -> list[Event]:
        found, gone = read_events_of(reply, streams)
        for key, ids in gone.items():
            await self.client.xack(key, group, *ids)
        return found
