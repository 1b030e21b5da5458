"""Any stream on a Redis Cluster: Manager.streams walks every primary page by page, and
stream_info / info_many read plain streams wherever their slot lives."""

from __future__ import annotations

import pytest

from queues import Manager, PlainStream, Producer
from queues.keys import queue_keys
from tests.support.redis_cluster import RedisClusterFixture

pytestmark = pytest.mark.runs_on("cluster")


def test_streams_pages_over_every_primary_and_plain_streams_are_read(
    redis_url: str, redis_cluster: RedisClusterFixture
) -> None:
    client = redis_cluster.client()
    keys = [redis_cluster.key_on(node, f"plain-{i}") for i, node in enumerate(redis_cluster.nodes)]
    keys += [f"more-{i}" for i in range(12)]
    for key in keys:
        client.xadd(key, {"orderId": "1"})
    client.xgroup_create(keys[0], "order-processors", id="0")
    client.close()
    Producer("lib", redis_url).publish({"n": 1})
    manager = Manager(redis=redis_url)
    seen: list[tuple[str, str]] = []
    cursor, pages = "0", 0
    while True:
        page = manager.streams(count=3, cursor=cursor)
        pages += 1
        seen += [(s.name, s.kind) for s in page]
        if page.done:
            break
        cursor = page.cursor
    assert sorted(seen) == sorted(
        [(k, "plain") for k in keys] + [(queue_keys("lib").stream, "queue")]
    )
    assert pages > 3
    info = manager.stream_info(keys[0])
    assert info.plain and info.length == 1 and info.group("order-processors").lag == 1
    infos = manager.info_many([PlainStream(k) for k in keys[:3]] + ["lib"])
    assert [i.length for i in infos] == [1, 1, 1, 1] and infos[-1].plain is False
