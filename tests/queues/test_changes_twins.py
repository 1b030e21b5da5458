"""``Manager.changes`` from both twins: the same fingerprints, nothing changed until a
publish, and a lost script cache is loaded again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import queues
import queues.aio
from queues.keys import queue_keys
from queues.types import PlainStream


def _changes(
    kind: str, redis_url: str, names: list[Any], held: list[str], events: list[str] | None = None
) -> Any:
    if kind == "sync":
        manager = queues.Manager(redis_url)
        try:
            return manager.changes(names, held, [[] for _ in names], events=events)
        finally:
            manager.close()

    async def run() -> Any:
        manager = queues.aio.Manager(redis_url)
        try:
            return await manager.changes(names, held, [[] for _ in names], events=events)
        finally:
            await manager.close()

    return asyncio.run(run())


@pytest.mark.parametrize("kind", ["sync", "aio"])
def test_changes_sees_a_publish_and_nothing_else(kind: str, redis_url: str) -> None:
    producer = queues.Producer("watched", redis_url)
    producer.publish({"n": 1})
    queues.Manager(redis_url).client.xadd("plain", {"a": "1"})
    names: list[Any] = ["watched", PlainStream("plain")]
    first = _changes(kind, redis_url, names, ["", ""])
    assert sorted(first.changed) == [0, 1] and all(first.changed.values())
    assert first.heads[0].length == 1
    held = [first.changed[0], first.changed[1]]
    assert _changes(kind, redis_url, names, held).changed == {}
    producer.publish({"n": 2})
    again = _changes(kind, redis_url, names, held)
    assert list(again.changed) == [0] and again.heads[0].length == 2
    # the server forgets its scripts: the check loads it again and answers the same
    queues.Manager(redis_url).client.script_flush()
    assert list(_changes(kind, redis_url, names, held).changed) == [0]
    producer.close()


def test_both_twins_take_the_same_fingerprint(redis_url: str) -> None:
    queues.Producer("watched", redis_url).publish({"n": 1})
    sync = _changes("sync", redis_url, ["watched"], [""])
    aio = _changes("aio", redis_url, ["watched"], [""])
    assert sync.changed == aio.changed and sync.heads == aio.heads


@pytest.mark.parametrize("kind", ["sync", "aio"])
def test_changes_tells_which_queues_events_moved_apart_from_the_fingerprint(
    kind: str, redis_url: str
) -> None:
    """Asked with the last events ids held, the check reports the queues whose events
    stream has a newer last entry (None: unreadable); the events are no part of the
    fingerprint, and a caller that does not ask pays no look at them."""
    client = queues.Manager(redis_url).client
    for name in ("watched", "quiet"):
        queues.Producer(name, redis_url).publish({"n": 1})
    client.xadd("plain", {"a": "1"})
    names: list[Any] = ["watched", "quiet", PlainStream("plain")]
    first = _changes(kind, redis_url, names, ["", "", ""], ["", "", ""])
    assert first.events == {}  # no events stream yet: its last id is "", as held
    held = [first.changed[i] for i in range(3)]
    event_id = client.xadd(queue_keys("watched").events, {"type": "claimed", "id": "1-0"})
    moved = _changes(kind, redis_url, names, held, ["", "", ""])
    assert moved.changed == {}  # the queue itself did not change
    assert moved.events == {0: event_id.decode()}
    assert _changes(kind, redis_url, names, held, [event_id.decode(), "", ""]).events == {}
    client.set(queue_keys("quiet").events, "not a stream")
    broken = _changes(kind, redis_url, names, held, [event_id.decode(), "", ""])
    assert broken.events == {1: None} and broken.changed == {}
    before = client.info("commandstats").get("cmdstat_xrevrange", {}).get("calls", 0)
    assert _changes(kind, redis_url, names, held).events == {}
    assert client.info("commandstats").get("cmdstat_xrevrange", {}).get("calls", 0) == before
