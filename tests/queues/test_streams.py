"""Any Redis stream, not only StreamWarden queues: Manager.streams / stream_info / info_many,
the asyncio twin and the CLI, on streams written and consumed by redis-cli (a foreign
client, as a Node or Go service would)."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis

from queues import (
    Manager,
    NotAStream,
    PlainStream,
    Producer,
    StreamNotFound,
    aio,
)
from queues.keys import queue_keys
from tests.queues.test_cli import cli
from tests.support.redis_cli import redis_cli


def xadd(url: str, key: str, *fields: str) -> str:
    return redis_cli(url, "XADD", key, "*", *fields).strip().strip('"')


@pytest.fixture
def orders(redis_url: str) -> str:
    """Stream "orders" the reference way: group order-processors, worker1 holds one entry,
    one entry undelivered."""
    xadd(redis_url, "orders", "orderId", "1", "data", '{"total": 5}')
    redis_cli(redis_url, "XGROUP", "CREATE", "orders", "order-processors", "0")
    redis_cli(
        redis_url,
        "XREADGROUP",
        "GROUP",
        "order-processors",
        "worker1",
        "COUNT",
        "1",
        "STREAMS",
        "orders",
        ">",
    )
    xadd(redis_url, "orders", "orderId", "2", "data", "not json {")
    return "orders"


def test_stream_info_reads_a_foreign_stream_with_unknowns_as_none(
    redis_url: str, orders: str
) -> None:
    info = Manager(redis=redis_url).stream_info(orders)
    assert info.plain and info.exists and info.name == "orders"
    assert (info.length, info.dead, info.delayed) == (2, None, None)
    group = info.group("order-processors")
    assert (group.lag, group.pending, group.parked) == (1, 1, None)
    assert [(c.name, c.pending) for c in group.consumers] == [("worker1", 1)]
    assert group.oldest_pending_ms is not None and group.oldest_undelivered_ms is not None


def test_a_consumer_called_like_the_library_parking_one_is_real_on_a_plain_stream(
    redis_url: str, orders: str
) -> None:
    redis_cli(
        redis_url, "XREADGROUP", "GROUP", "order-processors", "__retry__", "STREAMS", "orders", ">"
    )
    group = Manager(redis=redis_url).stream_info(orders).group("order-processors")
    assert sorted(c.name for c in group.consumers) == ["__retry__", "worker1"]
    assert group.parked is None and group.pending == 2


def test_missing_key_and_wrong_type_are_clear_errors(redis_url: str) -> None:
    redis_cli(redis_url, "SET", "a-string", "x")
    manager = Manager(redis=redis_url)
    with pytest.raises(StreamNotFound, match="no key 'nope'"):
        manager.stream_info("nope")
    with pytest.raises(NotAStream, match="not a stream"):
        manager.stream_info("a-string")
    # in a batch they do not fail the others
    wrong, missing = manager.info_many([PlainStream("a-string"), PlainStream("nope")])
    assert "not a stream (WRONGTYPE)" in wrong.unreadable and wrong.dead is None
    assert not missing.exists and not missing.unreadable


def test_info_many_takes_queues_and_plain_streams_in_order(
    redis_url: str, orders: str, queue_name: str
) -> None:
    Producer(queue_name, redis_url).publish({"n": 1})
    manager = Manager(redis=redis_url)
    manager.create_group(queue_name, "billing", start="0")
    plain, queue = manager.info_many([PlainStream(orders), queue_name])
    assert plain.plain and plain.dead is None and plain.length == 2
    assert not queue.plain and (queue.name, queue.dead, queue.delayed) == (queue_name, 0, 0)
    assert queue.group("billing").parked == 0


def test_binary_and_non_json_fields_and_key_names(redis_url: str) -> None:
    key = b"bin\xff\x00key\nwith/slash"
    client = redis.Redis.from_url(redis_url)
    redis_cli(redis_url, "XADD", "raw-bin", "*", "blob", stdin=b"\x00\xff\xfe{not json")
    client.xadd(key, {b"\xff": b"\x00"})
    client.xgroup_create(key, b"g\xff", id="0")
    manager = Manager(redis=redis_url)
    assert manager.stream_info("raw-bin").length == 1
    found = {s.key: s for s in manager.streams()}
    assert set(found) == {"raw-bin", key}
    odd = found[key]
    assert odd.kind == "plain" and "\ufffd" in odd.name
    info = manager.stream_info(odd.key)
    assert info.length == 1 and [g.name for g in info.groups] == ["g\ufffd"]


def test_streams_marks_queues_and_skips_library_internals(
    redis_url: str, orders: str, queue_name: str
) -> None:
    Producer(queue_name, redis_url).publish({"n": 1})
    Producer(queue_name, redis_url, priority=3).publish({"n": 2})
    client = redis.Redis.from_url(redis_url)
    keys = queue_keys(queue_name)
    client.xadd(keys.events, {"type": "claimed"})
    client.xadd(keys.dead, {"x": "1"})
    client.xadd(keys.reply("p1"), {"x": "1"})
    client.xadd(f"sw:{{{queue_name}}}:something-else", {"x": "1"})
    client.set("not-a-stream", "1")
    page = Manager(redis=redis_url).streams()
    assert page.done
    kinds = {s.name: (s.kind, s.queue) for s in page.streams}
    assert kinds == {
        "orders": ("plain", None),
        keys.stream: ("queue", queue_name),
        f"sw:{{{queue_name}}}:something-else": ("plain", None),
    }
    assert {s.target for s in page.streams if s.kind == "queue"} == {queue_name}


def test_a_pattern_over_100_000_keys_is_walked_in_bounded_pages(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    # 100 000 keys, 30 of them streams: one page never walks everything at once
    client.eval(
        "for i = 1, 100000 do redis.call('SET', 'k:' .. i, '1') end "
        "for i = 1, 30 do redis.call('XADD', 'k:s' .. i, '*', 'f', 'v') end",
        0,
    )
    manager = Manager(redis=redis_url)
    seen: list[str] = []
    pages = 0
    cursor = "0"
    commands_before = int(client.info("stats")["total_commands_processed"])
    while True:
        page = manager.streams("k:*", count=500, cursor=cursor)
        pages += 1
        seen += [s.name for s in page.streams]
        if page.done:
            break
        cursor = page.cursor
    scans = int(client.info("stats")["total_commands_processed"]) - commands_before - pages
    assert sorted(seen) == sorted(f"k:s{i}" for i in range(1, 31))
    assert pages > 1  # 100 000 keys / (10 SCAN calls of COUNT 500) per page
    assert scans <= pages * 10 + pages  # bounded SCAN calls per page (+ INFO calls)


def test_bad_page_arguments_are_refused(redis_url: str) -> None:
    manager = Manager(redis=redis_url)
    with pytest.raises(ValueError, match="count"):
        manager.streams(count=0)
    with pytest.raises(ValueError, match="cursor"):
        manager.streams(cursor="not-a-cursor")


def test_asyncio_twin(redis_url: str, orders: str) -> None:
    async def go() -> None:
        manager = aio.Manager(redis_url)
        try:
            info = await manager.stream_info(orders)
            assert info.plain and info.dead is None and info.length == 2
            page = await manager.streams("ord*")
            assert [(s.name, s.kind) for s in page.streams] == [("orders", "plain")]
            [mixed] = await manager.info_many([PlainStream(orders)])
            assert mixed.group("order-processors").lag == 1
            with pytest.raises(StreamNotFound):
                await manager.stream_info("nope")
            [newest, _] = await manager.stream_entries(orders, start="+", end="-", reverse=True)
            assert dict(newest.fields)[b"orderId"] == b"2"
            [row] = await manager.stream_pending(orders, "order-processors")
            assert (row.consumer, row.deliveries) == ("worker1", 1)
        finally:
            await manager.close()

    asyncio.run(go())


def test_cli_streams_and_info_stream(redis_url: str, orders: str, queue_name: str) -> None:
    Producer(queue_name, redis_url).publish({"n": 1})
    listed = cli(redis_url, "streams")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split()[1] for line in listed.stdout.splitlines()[2:]}
    assert rows == {"orders": "plain", queue_keys(queue_name).stream: "queue"}
    data = json.loads(cli(redis_url, "--json", "streams", "--match", "ord*").stdout)
    assert data == {"streams": [{"key": "orders", "kind": "plain", "queue": None}], "cursor": "0"}

    info = cli(redis_url, "info", "--stream", "orders")
    assert info.returncode == 0, info.stderr
    assert "stream orders: length 2, delayed n/a, dead n/a" in info.stdout
    assert "order-processors" in info.stdout and "worker1" in info.stdout
    as_json = json.loads(cli(redis_url, "--json", "info", "--stream", "orders").stdout)
    assert as_json["plain"] is True and as_json["dead"] is None

    missing = cli(redis_url, "info", "--stream", "nope")
    assert missing.returncode == 1 and "no key 'nope'" in missing.stderr
    redis_cli(redis_url, "SET", "s", "1")
    wrong = cli(redis_url, "info", "--stream", "s")
    assert wrong.returncode == 1 and "not a stream (WRONGTYPE)" in wrong.stderr
    both = cli(redis_url, "info", "orders", "--stream", "orders")
    assert both.returncode == 2


def test_entries_and_pending_of_any_stream(redis_url: str, orders: str) -> None:
    manager = Manager(redis=redis_url)
    newest_first = manager.stream_entries(orders, reverse=True, start="+", end="-")
    assert [dict(e.fields)[b"orderId"] for e in newest_first] == [b"2", b"1"]
    older = manager.stream_entries(orders, reverse=True, start=f"({newest_first[0].id}", end="-")
    assert [e.id for e in older] == [newest_first[1].id]
    assert manager.stream_entries("nope") == []
    redis_cli(redis_url, "SET", "s", "1")
    with pytest.raises(NotAStream):
        manager.stream_entries("s")
    [row] = manager.stream_pending(orders, "order-processors")
    assert (row.id, row.consumer, row.deliveries) == (newest_first[1].id, "worker1", 1)
    from queues import GroupNotFound

    with pytest.raises(GroupNotFound):
        manager.stream_pending(orders, "nobody")


def test_cli_streams_pages_with_a_cursor(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    for i in range(40):
        client.xadd(f"s{i}", {"f": "v"})
    seen: set[str] = set()
    cursor = "0"
    for _ in range(60):
        page = cli(redis_url, "--json", "streams", "--count", "5", "--cursor", cursor)
        assert page.returncode == 0, page.stderr
        data = json.loads(page.stdout)
        seen |= {row["key"] for row in data["streams"]}
        if data["cursor"] == "0":
            break
        cursor = data["cursor"]
    assert seen == {f"s{i}" for i in range(40)}
    text = cli(redis_url, "streams", "--count", "5")
    assert "more streams: --cursor" in text.stderr
    bad = cli(redis_url, "streams", "--cursor", "nope")
    assert bad.returncode == 1 and "bad streams cursor" in bad.stderr
