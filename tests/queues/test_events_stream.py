"""The events stream (the dashboard's feed of claims and dead letters) is trimmed only below
what its consumer groups have acknowledged; at its hard bound the oldest events go anyway
and an ``events_dropped`` event says how many."""

from __future__ import annotations

import redis

from queues import Consumer, Manager, events
from queues.keys import queue_keys
from tests.queues.conftest import FAST

PREFILL = """
for i = 1, tonumber(ARGV[1]) do
  redis.call('XADD', KEYS[1], '*', 'type', 'claimed', 'queue', ARGV[2], 'id', '1-' .. i)
end
"""


def _prefill(client: redis.Redis, queue: str, count: int) -> None:
    """``count`` events as if written earlier (one server-side loop: fast)."""
    client.eval(PREFILL, 1, queue_keys(queue).events, count, queue)


def _write_events(client: redis.Redis, redis_url: str, queue: str, count: int) -> None:
    """``count`` library events: bad delayed tickets the mover dead-lettered, one event each."""
    client.zadd(queue_keys(queue).delayed, {f"bad ticket {i}": 0 for i in range(count)})
    consumer = Consumer(queue, "g", lambda m: None, redis_url, **FAST)
    for _ in range(count):  # a burst moves one batch of tickets
        consumer.run(burst=True)
        if not client.zcard(queue_keys(queue).delayed):
            break
    consumer.close()
    assert client.zcard(queue_keys(queue).delayed) == 0


def test_events_a_group_has_not_acknowledged_are_kept_and_acknowledged_ones_trimmed(
    redis_url: str, redis_client: redis.Redis, queue_name: str
) -> None:
    key = queue_keys(queue_name).events
    manager = Manager(redis=redis_url)
    assert manager.read_events([queue_name], "dash", "d1") == []  # the dashboard's group
    _prefill(redis_client, queue_name, events.MAX_EVENTS + 2_000)
    _write_events(redis_client, redis_url, queue_name, 100)
    written = redis_client.xinfo_stream(key)["entries-added"]
    assert redis_client.xlen(key) == written, "nothing the dashboard has not read is trimmed"

    while found := manager.read_events([queue_name], "dash", "d1", count=2_000):
        manager.ack_events("dash", found)
    _write_events(redis_client, redis_url, queue_name, 2 * events.CHECK_EVERY)
    length = redis_client.xlen(key)
    assert events.MAX_EVENTS <= length <= events.MAX_EVENTS + events.CHECK_EVERY, (
        "acknowledged events beyond the newest MAX_EVENTS are trimmed"
    )
    manager.close()


def test_at_the_hard_bound_the_oldest_events_go_and_an_events_dropped_event_counts_them(
    redis_url: str, redis_client: redis.Redis, queue_name: str
) -> None:
    key = queue_keys(queue_name).events
    manager = Manager(redis=redis_url)
    assert manager.read_events([queue_name], "dash", "d1") == []
    _prefill(redis_client, queue_name, events.HARD_MAX_EVENTS)
    first_id = redis_client.xrange(key, count=1)[0][0].decode()
    assert len(manager.read_events([queue_name], "dash", "d1", count=10)) == 10  # not acked
    _write_events(redis_client, redis_url, queue_name, 2 * events.CHECK_EVERY)

    info = redis_client.xinfo_stream(key)
    assert info["length"] <= events.HARD_MAX_EVENTS
    [dropped] = [
        e for e in manager.events(count=500, queue=queue_name) if e.type == "events_dropped"
    ]
    assert int(dropped.fields["count"]) == info["entries-added"] - info["length"] > 0
    assert dropped.fields["from_id"] == first_id
    assert dropped.fields["until_id"] == redis_client.xrange(key, count=1)[0][0].decode()
    assert dropped.queue == queue_name
    manager.close()


def test_without_a_group_the_events_stream_stays_capped(
    redis_url: str, redis_client: redis.Redis, queue_name: str
) -> None:
    _prefill(redis_client, queue_name, events.MAX_EVENTS + 2_000)
    _write_events(redis_client, redis_url, queue_name, 2 * events.CHECK_EVERY)
    assert redis_client.xlen(queue_keys(queue_name).events) < events.MAX_EVENTS + 1_000
