"""Trimming never removes an entry some group has not received or not acknowledged."""

from __future__ import annotations

import pytest
import redis

from queues import Consumer, Manager, Producer, TrimRefused
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Recorder, group_state, wait_for


@pytest.mark.runs_on("single", "cluster")
def test_trimming_while_a_group_lags_removes_no_undelivered_or_pending_entry(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
) -> None:
    stream = queue_keys(queue_name).stream
    ids = producer.publish_many([{"n": i} for i in range(100)])
    manager.create_group(queue_name, "fast", start="0")
    manager.create_group(queue_name, "slow", start="0")
    # fast: read 80, acknowledged all of them
    fast_read = redis_client.xreadgroup("fast", "f", {stream: ">"}, count=80)[0][1]
    redis_client.xack(stream, "fast", *[i for i, _ in fast_read])
    # slow: read 60, acknowledged only the first 40 (20 still pending), 40 undelivered
    slow_read = redis_client.xreadgroup("slow", "s", {stream: ">"}, count=60)[0][1]
    redis_client.xack(stream, "slow", *[i for i, _ in slow_read[:40]])

    removed = manager.trim(queue_name)

    assert removed == 40
    remaining = [i.decode() for i, _ in redis_client.xrange(stream)]
    assert remaining == ids[40:], "pending (40..59) and undelivered (60..99) entries stay"
    assert manager.trim(queue_name) == 0, "nothing more is safe to remove"

    # and the slow group can still finish everything it owes
    recorder = Recorder()
    wait_for(
        lambda: len(manager.pending(queue_name, "slow", min_idle_ms=200)) == 20,
        5,
        message="slow group's pending entries idle",
    )
    Consumer(queue_name, "slow", recorder, redis_url, claim_idle=0.2, **FAST).run(burst=True)
    assert sorted(recorder.ids()) == sorted(ids[40:])
    slow = manager.info(queue_name).group("slow")
    assert (slow.pending, slow.lag) == (0, 0)


@pytest.mark.runs_on("single", "cluster")
def test_trimming_a_stream_without_groups_is_refused(
    queue_name: str, producer: Producer, manager: Manager
) -> None:
    producer.publish_many([1, 2, 3])
    with pytest.raises(TrimRefused, match="no consumer groups"):
        manager.trim(queue_name)
    assert manager.info(queue_name).length == 3


def test_a_producer_with_trimming_on_keeps_the_stream_short_but_safe(
    redis_url: str, queue_name: str, manager: Manager
) -> None:
    producer = Producer(queue_name, redis=redis_url, trim=True, trim_every=100)
    producer.publish_many(range(150))  # no group yet: nothing may be trimmed
    assert manager.info(queue_name).length == 150
    Consumer(queue_name, "g", lambda m: None, redis_url, batch_size=200, **FAST).run(burst=True)
    producer.publish_many(range(1000))
    info = manager.info(queue_name)
    assert info.length >= 1000, "the 1000 undelivered entries are all still there"
    assert info.length < 1150
    producer.close()


@pytest.mark.runs_on("single", "cluster")
def test_purge_empties_the_queue_but_keeps_its_groups(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager, redis_client: redis.Redis
) -> None:
    producer.publish_many(range(10))
    producer.publish("later", delay=60)
    manager.create_group(queue_name, "g", start="0")
    redis_client.xreadgroup("g", "c", {queue_keys(queue_name).stream: ">"}, count=3)
    assert manager.purge(queue_name) == 10
    info = manager.info(queue_name)
    assert (info.length, info.delayed) == (0, 0)
    group = info.group("g")
    assert (group.pending, group.lag) == (0, 0)
    producer.publish("fresh")
    recorder = Recorder()
    Consumer(queue_name, "g", recorder, redis_url, **FAST).run(burst=True)
    assert recorder.payloads() == ["fresh"]


@pytest.mark.runs_on("single", "cluster")
def test_trimming_to_maxlen_keeps_the_newest_and_everything_still_needed(
    queue_name: str, producer: Producer, manager: Manager, redis_client: redis.Redis
) -> None:
    stream = queue_keys(queue_name).stream
    ids = producer.publish_many(range(100))
    manager.create_group(queue_name, "g", start="0")
    read = redis_client.xreadgroup("g", "c", {stream: ">"}, count=90)[0][1]
    redis_client.xack(stream, "g", *[i for i, _ in read[:70]])  # 70 acked, 20 pending

    assert manager.trim(queue_name, maxlen=50) == 50  # only the 50 oldest may go
    assert [i.decode() for i, _ in redis_client.xrange(stream)] == ids[50:]
    assert manager.trim(queue_name, maxlen=10) == 20  # 70..99 pending or undelivered stay
    assert [i.decode() for i, _ in redis_client.xrange(stream)] == ids[70:]
    assert manager.trim(queue_name, maxlen=500) == 0
    with pytest.raises(ValueError, match="maxlen"):
        manager.trim(queue_name, maxlen=-1)


@pytest.mark.runs_on("single", "cluster")
def test_trim_risk_counts_exactly_what_a_blind_maxlen_would_drop(
    queue_name: str, producer: Producer, manager: Manager, redis_client: redis.Redis
) -> None:
    stream = queue_keys(queue_name).stream
    ids = producer.publish_many(range(100))
    manager.create_group(queue_name, "fast", start="0")
    manager.create_group(queue_name, "slow", start="0")
    fast = redis_client.xreadgroup("fast", "f", {stream: ">"}, count=100)[0][1]
    redis_client.xack(stream, "fast", *[i for i, _ in fast])
    slow = redis_client.xreadgroup("slow", "s", {stream: ">"}, count=30)[0][1]
    # slow acked 0..9 and 15..29: 10..14 pending, 30..99 undelivered
    redis_client.xack(stream, "slow", *[i for i, _ in slow[:10] + slow[15:]])

    risk = manager.trim_risk(queue_name, maxlen=60)  # would drop 0..39
    assert (risk.removes, risk.first_kept_id, risk.safe_min_id) == (40, ids[40], ids[10])
    by_group = {g.group: (g.undelivered, g.pending) for g in risk.groups}
    assert by_group == {"fast": (0, 0), "slow": (10, 5)}  # 30..39 undelivered, 10..14 pending
    assert risk.exact and not risk.safe

    assert manager.trim_risk(queue_name, maxlen=95).safe  # drops 0..4 only
    assert manager.trim_risk(queue_name, maxlen=200).removes == 0
    wide = manager.trim_risk(queue_name, maxlen=0)
    assert (wide.removes, wide.undelivered, wide.pending) == (100, 70, 5)
    capped = manager.trim_risk(queue_name, maxlen=60, limit=3)
    assert not capped.exact
    assert redis_client.xlen(stream) == 100, "trim_risk never removes anything"


@pytest.mark.runs_on("single", "cluster")
def test_purge_empties_every_priority_level_and_forgets_dedup_keys(
    redis_url: str, queue_name: str, manager: Manager, redis_client: redis.Redis
) -> None:
    levels = {level: Producer(queue_name, redis=redis_url, priority=level) for level in (0, 2)}
    for level, producer in levels.items():
        producer.publish_many(range(5))
        producer.publish("later", delay=60)
        producer.publish("once", dedup_key=f"k{level}")
        producer.publish("once later", delay=60, dedup_key=f"d{level}")
    level2 = queue_keys(queue_name, 2)
    redis_client.xgroup_create(level2.stream, "g", id="0")
    redis_client.xreadgroup("g", "c", {level2.stream: ">"}, count=3)

    assert manager.purge(queue_name) == 12, "6 entries at each level"
    for level in (0, 2):
        keys = queue_keys(queue_name, level)
        assert redis_client.xlen(keys.stream) == 0
        assert redis_client.zcard(keys.delayed) == 0
    assert redis_client.xpending(level2.stream, "g")["pending"] == 0
    assert group_state(redis_client, level2.stream, "g")["lag"] == 0
    assert not list(redis_client.scan_iter(match=f"sw:{{{queue_name}}}:dedup:*"))

    for level, producer in levels.items():
        producer.publish("once", dedup_key=f"k{level}")  # published again, not deduplicated
        producer.close()
    assert redis_client.xlen(queue_keys(queue_name).stream) == 1
    assert redis_client.xlen(level2.stream) == 1
