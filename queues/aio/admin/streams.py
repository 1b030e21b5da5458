"""queues.aio.Manager's discovery of stream keys: one bounded SCAN page of one server (the
sync twin, queues/admin/streams.py, also walks each primary of a cluster)."""

from __future__ import annotations

from typing import Any

from redis import asyncio as aioredis

from queues import discovery
from queues.connection import unavailable_as_error
from queues.types import StreamPage


class StreamDiscovery:
    """queues.aio.Manager's ``streams`` (a part of aio.Manager)."""

    client: aioredis.Redis
    address: str

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
