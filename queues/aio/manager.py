"""asyncio Manager: the operations of queues.Manager, awaited.

Composed of parts by concern in ``queues.aio.admin`` (operations, inspection, pending,
dead_letters, event_feed), the twins of ``queues.admin``: ``operations``, ``pending`` and
``dead_letters`` are the source the sync ones are generated from (unasync). What to send
and what a reply means is shared with the sync Manager (``queues.admin.calls``); info comes
from the same two-phase plan (queues.info_plan).
"""

from __future__ import annotations

from queues import info as info_mod
from queues.aio.admin.dead_letters import DeadLetters
from queues.aio.admin.event_feed import EventFeed
from queues.aio.admin.inspection import Inspection
from queues.aio.admin.operations import Operations
from queues.aio.admin.pending import PendingReads
from queues.aio.admin.streams import StreamDiscovery
from queues.aio.admin.watch import ChangeWatch
from queues.aio.connection import AsyncRedisLike, address, connect
from queues.scripts import Scripts
from queues.serializers import JSON, Serializer, resolve


class Manager(
    Operations, Inspection, StreamDiscovery, PendingReads, DeadLetters, EventFeed, ChangeWatch
):
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

    async def close(self) -> None:
        """Release the connections of a client the manager created from a URL."""
        if self._owns_client:
            await self.client.aclose()

    def __repr__(self) -> str:
        return f"<aio.Manager at {self.address}>"
