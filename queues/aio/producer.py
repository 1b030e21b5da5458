"""asyncio Producer: the same publishes as queues.Producer, awaited."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from queues import commands, delayed, entries
from queues.aio.connection import AsyncRedisLike, address, connect
from queues.connection import unavailable_as_error
from queues.entries import text
from queues.keys import REGISTRY, queue_keys
from queues.scripts import Scripts
from queues.serializers import Serializer, resolve

PIPELINE_CHUNK = 1_000


class Producer:
    """Publishes to one queue from asyncio code; returns ids of entries that are in Redis
    or raises QueueUnavailable. Safe to share between tasks of one event loop."""

    def __init__(
        self,
        queue: str,
        redis: AsyncRedisLike,
        *,
        serializer: Serializer | None = None,
        dedup_window: float = 3600.0,
    ) -> None:
        self.queue = queue
        self.keys = queue_keys(queue)
        self.client = connect(redis)
        self._owns_client = self.client is not redis
        self.address = address(self.client)
        self.serializer = resolve(serializer)
        self.dedup_window_ms = int(dedup_window * 1000)
        if self.dedup_window_ms <= 0:
            raise ValueError("dedup_window must be positive")
        self._scripts = Scripts(self.client)
        self._registered = False

    async def publish(
        self,
        payload: Any,
        *,
        headers: Mapping[str, Any] | None = None,
        delay: float | timedelta | None = None,
        at: datetime | float | None = None,
        dedup_key: str | None = None,
    ) -> str:
        """Publish one message; its stream id, or the ticket id of a delayed one."""
        fields = entries.encode(payload, self.serializer, headers, int(time.time() * 1000))
        due = delayed.due_ms(delay, at)
        with unavailable_as_error(self.address):
            await self._register()
            if due is not None:
                keys, args = commands.schedule_call(
                    self.keys, fields, due, dedup_key, self.dedup_window_ms
                )
                _created, result = await self._scripts.schedule(keys=keys, args=args)
                return text(result)
            if dedup_key is not None:
                keys, args = commands.publish_dedup_call(
                    self.keys, fields, dedup_key, self.dedup_window_ms
                )
                _created, entry_id = await self._scripts.publish(keys=keys, args=args)
                return text(entry_id)
            return text(await self.client.xadd(self.keys.stream, fields))  # type: ignore[arg-type]

    async def publish_many(
        self, payloads: Iterable[Any], *, headers: Mapping[str, Any] | None = None
    ) -> list[str]:
        """Publish many messages in pipelined round trips; their ids in order."""
        now = int(time.time() * 1000)
        encoded = [entries.encode(p, self.serializer, headers, now) for p in payloads]
        ids: list[str] = []
        with unavailable_as_error(self.address):
            await self._register()
            for start in range(0, len(encoded), PIPELINE_CHUNK):
                pipe = self.client.pipeline(transaction=False)
                for fields in encoded[start : start + PIPELINE_CHUNK]:
                    pipe.xadd(self.keys.stream, fields)  # type: ignore[arg-type]
                ids.extend(text(i) for i in await pipe.execute())
        return ids

    async def _register(self) -> None:
        if not self._registered:
            await self.client.sadd(REGISTRY, self.queue)  # type: ignore[misc]
            self._registered = True

    async def close(self) -> None:
        """Release the connections of a client made from a URL."""
        if self._owns_client:
            await self.client.aclose()

    def __repr__(self) -> str:
        return f"<aio.Producer {self.queue!r} at {self.address}>"
