"""queues.aio.Manager's reads of queues and streams: info, entries, discovery, health."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import redis
from redis import asyncio as aioredis

from queues import discovery, info_plan
from queues import info as info_mod
from queues.admin import calls
from queues.admin.calls import EVICTION_POLICY_TTL, checked_stream_info, stream_error
from queues.connection import unavailable_as_error
from queues.exceptions import QueueNotFound
from queues.health import Thresholds, evaluate
from queues.keys import REGISTRY, queue_keys
from queues.types import Health, PlainStream, QueueInfo, StreamEntry, StreamPage


class Inspection:
    """The asyncio twin of queues.admin.inspection.Inspection (a part of aio.Manager)."""

    client: aioredis.Redis
    address: str
    active_idle_ms: int
    _policy: tuple[float, str | None] | None

    async def info(self, name: str) -> QueueInfo:
        """Snapshot of one queue; QueueNotFound when it is unknown (see queues.Manager.info)."""
        result = (await self.info_many([name]))[0]
        if not (result.exists or result.dead or result.delayed) and not await self._registered(
            name
        ):
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

    async def eviction_policy(self) -> str | None:
        """Redis maxmemory-policy (cached for a minute); None when CONFIG is disabled."""
        now = time.monotonic()
        if self._policy is not None and now - self._policy[0] < EVICTION_POLICY_TTL:
            return self._policy[1]
        with unavailable_as_error(self.address):
            try:
                policy = calls.policy_of(await self.client.config_get("maxmemory-policy"))
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

    async def _registered(self, name: str) -> bool:
        with unavailable_as_error(self.address):
            return bool(await self.client.sismember(REGISTRY, name))  # type: ignore[misc]


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
