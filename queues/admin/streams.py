"""The Manager's discovery of stream keys: one bounded SCAN page, walking each primary of a
cluster (its asyncio twin, queues/aio/admin/streams.py, reads one server)."""

from __future__ import annotations

from typing import Any

from queues import discovery
from queues.connection import Client, is_cluster, unavailable_as_error
from queues.types import StreamPage


class StreamDiscovery:
    """queues.Manager's ``streams`` (a part of Manager)."""

    client: Client
    address: str

    def streams(self, match: str = "*", count: int = 1000, *, cursor: str = "0") -> StreamPage:
        """One bounded page of the stream keys matching ``match`` (``SCAN … TYPE stream``,
        never ``KEYS``), each a StreamWarden queue or a plain stream; the library's own
        streams (events, dead letters, replies, priority levels) are left out.

        A page holds about ``count`` streams (SCAN may return a few more) and makes at most
        ``discovery.MAX_SCAN_CALLS`` SCAN calls of COUNT ``count``, so a pattern matching
        few of many keys returns early with fewer. Pass ``page.cursor`` back for the next
        page; ``page.done`` (cursor "0") at the end. Keys added meanwhile may be missed or
        listed twice, as SCAN guarantees no better. On a cluster each primary is walked.
        """
        discovery.check_page_args(match, count)
        with unavailable_as_error(self.address):
            nodes: list[Any] = (
                [self.client.get_redis_connection(n) for n in self.client.get_primaries()]  # type: ignore[union-attr]
                if is_cluster(self.client)
                else [self.client]
            )
            node, scan = discovery.parse_cursor(cursor, len(nodes))
            keys: list[Any] = []
            calls = 0
            while True:
                scan, found = nodes[node].scan(
                    cursor=scan, match=match, count=discovery.scan_count(count), _type="stream"
                )
                calls += 1
                keys.extend(found)
                next_cursor = discovery.next_cursor(node, int(scan), len(nodes))
                if next_cursor == "0" or discovery.page_full(len(keys), count, calls):
                    break
                node, scan = discovery.parse_cursor(next_cursor, len(nodes))
        return StreamPage(tuple(discovery.classify_all(keys)), next_cursor)
