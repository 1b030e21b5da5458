"""Manager: queue and group administration, cheap pipelined info, pending, events."""

from __future__ import annotations

import asyncio

import pytest
import redis

from queues import (
    Consumer,
    ConsumerBusy,
    GroupExists,
    GroupNotFound,
    Manager,
    Producer,
    QueueNotFound,
    QueueUnavailable,
    aio,
)
from queues.keys import glob_escape, queue_keys
from tests.queues.conftest import FAST, Recorder, wait_for
from tests.support.redis_process import RedisServer


@pytest.mark.runs_on("single", "cluster")
def test_info_reports_stream_groups_consumers_and_ages(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
) -> None:
    stream = queue_keys(queue_name).stream
    ids = producer.publish_many([{"n": i} for i in range(10)])
    producer.publish("later", delay=60)
    manager.create_group(queue_name, "g", start="0")
    redis_client.xreadgroup("g", "alice", {stream: ">"}, count=4)
    redis_client.xack(stream, "g", ids[0])
    redis_client.xreadgroup("g", "bob", {stream: ">"}, count=2)
    manager.create_group(queue_name, "idle", start="$")

    info = manager.info(queue_name)

    assert info.exists and info.length == 10
    assert (info.first_id, info.last_id, info.entries_added) == (ids[0], ids[-1], 10)
    assert (info.delayed, info.dead) == (1, 0)
    g = info.group("g")
    assert (g.pending, g.lag, g.entries_read, g.last_delivered_id) == (5, 4, 6, ids[5])
    assert {c.name: c.pending for c in g.consumers} == {"alice": 3, "bob": 2}
    assert g.active_consumers == 2 and all(c.active for c in g.consumers)
    assert g.oldest_pending_ms is not None and g.oldest_pending_ms >= 0
    assert g.oldest_undelivered_ms is not None
    idle = info.group("idle")
    assert (idle.pending, idle.lag, idle.consumers, idle.oldest_undelivered_ms) == (0, 0, (), None)
    assert info.lag == 4 and info.pending == 5
    assert info.time_ms is not None


def test_info_many_answers_for_many_queues_in_two_round_trips(
    redis_url: str, manager: Manager, redis_client: redis.Redis
) -> None:
    names = [f"many-{i}" for i in range(30)]
    for name in names:
        Producer(name, redis=redis_url).publish_many([1, 2])
        manager.create_group(name, "g", start="0")
    before = redis_client.info("stats")["total_commands_processed"]
    infos = manager.info_many([*names, "never-heard-of"])
    commands = redis_client.info("stats")["total_commands_processed"] - before - 1
    assert [i.name for i in infos] == [*names, "never-heard-of"]
    assert all(i.exists and i.length == 2 and i.group("g").lag == 2 for i in infos[:-1])
    assert not infos[-1].exists
    # 1 TIME + 7 per queue, pipelined; then per group only what phase one did not tell:
    # no consumer and nothing pending, so no XPENDING or XINFO CONSUMERS, one XRANGE
    assert commands == 1 + 7 * 31 + 1 * 30


@pytest.mark.runs_on("single", "cluster")
def test_info_of_an_unknown_queue_raises_queue_not_found(manager: Manager) -> None:
    with pytest.raises(QueueNotFound):
        manager.info("nobody")
    with pytest.raises(LookupError):
        manager.info("nobody")


@pytest.mark.runs_on("single", "cluster")
def test_queues_can_be_created_listed_and_deleted(manager: Manager, queue_name: str) -> None:
    assert manager.create_queue(queue_name) is True
    assert manager.create_queue(queue_name) is False
    assert queue_name in manager.queues()
    info = manager.info(queue_name)
    assert info.exists and info.length == 0
    assert manager.delete_queue(queue_name) is True
    assert queue_name not in manager.queues()
    with pytest.raises(QueueNotFound):
        manager.info(queue_name)


def _delete_queue(twin: str, redis_url: str, name: str) -> bool:
    if twin == "sync":
        manager = Manager(redis=redis_url)
        try:
            return manager.delete_queue(name)
        finally:
            manager.close()

    async def run() -> bool:
        manager = aio.Manager(redis=redis_url)
        try:
            return await manager.delete_queue(name)
        finally:
            await manager.close()

    return asyncio.run(run())


@pytest.mark.runs_on("single", "cluster")
@pytest.mark.parametrize("twin", ["sync", "aio"])
def test_deleting_a_queue_deletes_every_key_under_its_tag_and_no_other_queues(
    redis_client: redis.Redis, redis_url: str, queue_name: str, producer: Producer, twin: str
) -> None:
    """Not only the fixed keys: de-duplication markers, reply streams, producer heartbeats,
    processing tokens, ordered-mode locks and a key of any name under the queue's tag."""
    keys = queue_keys(queue_name)
    producer.publish({"n": 1}, dedup_key="order-1")
    redis_client.xadd(keys.reply("p1"), {"token": "t", "id": "1-1", "status": "done"})
    redis_client.set(keys.producer_alive("p1"), "1", px=60_000)
    redis_client.set(keys.processing("g", "1-1"), "c1", px=60_000)
    redis_client.set(keys.ordered_lock("g"), "c1", px=60_000)
    binary = f"sw:{{{queue_name}}}:".encode() + b"\xff\xfe binary"
    redis_client.set(binary, "1")
    other = queue_keys(f"{queue_name}b")  # its tag starts like ours
    redis_client.set(other.dedup("order-1"), "1")
    redis_client.xadd(other.stream, {"n": "1"})

    assert _delete_queue(twin, redis_url, queue_name) is True

    assert list(redis_client.scan_iter(match=glob_escape(f"sw:{{{queue_name}}}:") + "*")) == []
    assert redis_client.exists(other.dedup("order-1"), other.stream) == 2


@pytest.mark.runs_on("single", "cluster")
def test_groups_can_be_created_moved_and_deleted(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager
) -> None:
    ids = producer.publish_many(["a", "b", "c"])
    manager.create_group(queue_name, "late")  # start="$": only new messages
    with pytest.raises(GroupExists):
        manager.create_group(queue_name, "late")
    recorder = Recorder()
    Consumer(queue_name, "late", recorder, redis_url, **FAST).run(burst=True)
    assert recorder.count == 0
    manager.set_group_id(queue_name, "late", ids[0])  # rewind: re-deliver b and c
    Consumer(queue_name, "late", recorder, redis_url, **FAST).run(burst=True)
    assert recorder.payloads() == ["b", "c"]
    with pytest.raises(GroupNotFound):
        manager.set_group_id(queue_name, "missing", "0")
    assert manager.delete_group(queue_name, "late") is True
    assert manager.delete_group(queue_name, "late") is False
    assert manager.info(queue_name).groups == ()


@pytest.mark.runs_on("single", "cluster")
def test_a_consumer_with_pending_entries_is_deleted_only_when_forced(
    queue_name: str, producer: Producer, manager: Manager, redis_client: redis.Redis
) -> None:
    producer.publish_many([1, 2])
    manager.create_group(queue_name, "g", start="0")
    redis_client.xreadgroup("g", "holder", {queue_keys(queue_name).stream: ">"}, count=2)
    with pytest.raises(ConsumerBusy, match="2 pending entries") as info:
        manager.delete_consumer(queue_name, "g", "holder")
    assert info.value.pending == 2
    assert manager.info(queue_name).group("g").pending == 2
    assert manager.delete_consumer(queue_name, "g", "holder", force=True) == 2
    group = manager.info(queue_name).group("g")
    assert (group.pending, group.consumers) == (0, ())


def test_a_consumer_s_pending_entries_are_handed_over_before_it_is_deleted(
    queue_name: str, producer: Producer, manager: Manager, redis_client: redis.Redis
) -> None:
    ids = producer.publish_many([1, 2, 3])
    manager.create_group(queue_name, "g", start="0")
    stream = queue_keys(queue_name).stream
    redis_client.xreadgroup("g", "holder", {stream: ">"}, count=3)
    redis_client.xreadgroup("g", "holder", {stream: "0"}, count=3)  # delivered twice
    with pytest.raises(ValueError, match="another consumer"):
        manager.delete_consumer(queue_name, "g", "holder", hand_to="holder")
    assert manager.delete_consumer(queue_name, "g", "holder", hand_to="heir") == 3
    pending = redis_client.xpending_range(stream, "g", "-", "+", 10)
    assert [p["message_id"].decode() for p in pending] == ids
    assert {p["consumer"].decode() for p in pending} == {"heir"}
    assert {p["times_delivered"] for p in pending} == {2}  # a hand-over is not a delivery
    assert [c["name"].decode() for c in redis_client.xinfo_consumers(stream, "g")] == ["heir"]


def test_a_hand_over_moves_every_page_of_a_long_pending_list(
    queue_name: str, producer: Producer, manager: Manager, redis_client: redis.Redis
) -> None:
    producer.publish_many(list(range(1201)))  # the script moves 500 per page
    manager.create_group(queue_name, "g", start="0")
    stream = queue_keys(queue_name).stream
    redis_client.xreadgroup("g", "holder", {stream: ">"}, count=1201)
    assert manager.delete_consumer(queue_name, "g", "holder", hand_to="heir") == 1201
    summary = redis_client.xpending(stream, "g")
    assert summary["pending"] == 1201
    assert [(c["name"].decode(), c["pending"]) for c in summary["consumers"]] == [("heir", 1201)]


@pytest.mark.runs_on("single", "cluster")
def test_pending_lists_entries_with_owner_idle_time_and_delivery_count(
    queue_name: str, producer: Producer, manager: Manager, redis_client: redis.Redis
) -> None:
    ids = producer.publish_many(["a", "b", "c"])
    manager.create_group(queue_name, "g", start="0")
    redis_client.xreadgroup("g", "c1", {queue_keys(queue_name).stream: ">"}, count=3)
    entries = manager.pending(queue_name, "g", count=2)
    assert [e.id for e in entries] == ids[:2]
    assert {(e.consumer, e.deliveries) for e in entries} == {("c1", 1)}
    assert all(e.idle_ms >= 0 for e in entries)
    with pytest.raises(GroupNotFound):
        manager.pending(queue_name, "nope")


@pytest.mark.runs_on("single", "cluster")
def test_events_of_all_queues_come_newest_last(redis_url: str, manager: Manager) -> None:
    for name in ("ev-a", "ev-b"):
        Producer(name, redis=redis_url).publish("x")
        Consumer(name, "g", _fail, redis_url, max_deliveries=1, **FAST).run(burst=True)
    events = manager.events()
    kinds = [(e.queue, e.type) for e in events]
    assert ("ev-a", "dead_lettered") in kinds and ("ev-b", "dead_lettered") in kinds
    assert [e.time_ms for e in events] == sorted(e.time_ms for e in events)
    assert kinds.index(("ev-a", "dead_lettered")) < kinds.index(("ev-b", "dead_lettered"))
    assert [e.queue for e in manager.events(queue="ev-a")] == ["ev-a"] * 2
    assert len(manager.events(count=1)) == 1


def test_a_manager_on_a_stopped_redis_raises_queue_unavailable(
    private_redis: RedisServer,
) -> None:
    manager = Manager(redis=private_redis.url)
    private_redis.stop()
    with pytest.raises(QueueUnavailable):
        manager.info("anything")
    with pytest.raises(QueueUnavailable):
        manager.queues()


@pytest.mark.runs_on("single", "cluster")
def test_health_reports_lag_and_missing_consumers(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager
) -> None:
    from queues import Thresholds

    producer.publish_many(range(50))
    manager.create_group(queue_name, "g", start="0")
    health = manager.health(queue_name, Thresholds(lag=(10, 100), active_consumers=(1, 0)))
    assert health.status == "alert"
    by_name = {c.name: c for c in health.checks}
    assert (by_name["lag"].status, by_name["lag"].value) == ("warn", 50)
    assert (by_name["active_consumers"].status, by_name["active_consumers"].value) == ("alert", 0)

    recorder = Recorder()
    Consumer(queue_name, "g", recorder, redis_url, batch_size=100, **FAST).run(burst=True)
    wait_for(lambda: recorder.count == 50, 5, message="drained")
    assert manager.health(queue_name, Thresholds(active_consumers=(None, None))).status == "ok"


def _fail(message: object) -> None:
    raise RuntimeError("no")


@pytest.mark.runs_on("single", "cluster")
def test_events_are_read_through_a_group_at_least_once(
    redis_url: str, manager: Manager, redis_client: redis.Redis
) -> None:
    for name in ("ev-a", "ev-b"):
        Producer(name, redis=redis_url).publish("x")
        Consumer(name, "g", _fail, redis_url, max_deliveries=1, **FAST).run(burst=True)
    queues = ["ev-a", "ev-b"]

    first = manager.read_events(queues, "dashboard", "d1")
    assert sorted((e.queue, e.type) for e in first) == [
        ("ev-a", "dead_lettered"),
        ("ev-a", "group_created"),
        ("ev-b", "dead_lettered"),
        ("ev-b", "group_created"),
    ]
    # d1 "crashes" before acknowledging: it gets the same events again
    assert [e.id for e in manager.read_events(queues, "dashboard", "d1")] == [e.id for e in first]
    # another dashboard consumer takes them over once they have been idle long enough (on a
    # cluster d1 read the queues' slots one after the other: wait until all four are idle)
    wait_for(
        lambda: (
            sum(
                len(
                    redis_client.xpending_range(
                        queue_keys(q).events, "dashboard", "-", "+", 10, idle=100
                    )
                )
                for q in queues
            )
            == len(first)
        ),
        5,
        message="d1's events idle for 100 ms",
    )
    taken = manager.read_events(queues, "dashboard", "d2", claim_idle_ms=100)
    assert sorted(e.id for e in taken) == sorted(e.id for e in first)
    assert manager.ack_events("dashboard", taken) == 4
    assert manager.read_events(queues, "dashboard", "d2", claim_idle_ms=100) == []

    Producer("ev-a", redis=redis_url).publish("y")
    Consumer("ev-a", "g", _fail, redis_url, max_deliveries=1, **FAST).run(burst=True)
    [new] = manager.read_events(queues, "dashboard", "d2", block_ms=500)
    assert (new.queue, new.type, new.group) == ("ev-a", "dead_lettered", "g")
    assert new.message_id is not None

    redis_client.delete("sw:{ev-b}:events")  # events stream (and its group) gone
    assert manager.read_events(queues, "dashboard", "d2") == [new]
