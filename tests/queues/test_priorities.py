"""Priorities: a queue's levels are streams sharing its hash tag; a consumer with
``priorities=N`` drains higher levels first, yet every level gets a share of every read.
The consumer tests run on queues.Consumer and queues.aio's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from queues import Manager, Message, Producer
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Recorder, wait_for
from tests.queues.test_twins import Twin


@pytest.fixture(params=["sync", "aio"])
def twin(request: pytest.FixtureRequest) -> Iterator[Twin]:
    t = Twin(request.param)
    yield t
    t.close()


@pytest.mark.runs_on("single", "cluster")
def test_higher_levels_drain_first_and_the_lowest_is_never_starved(
    twin: Twin, redis_url: str, queue_name: str
) -> None:
    for level, count in ((0, 20), (1, 200), (2, 2_000)):
        producer = Producer(queue_name, redis=redis_url, priority=level)
        producer.publish_many([{"level": level, "n": n} for n in range(count)])
        producer.close()
    recorder = Recorder()
    twin.burst(
        twin.make(
            "Consumer", queue_name, "g", recorder, redis_url, priorities=3, batch_size=10, **FAST
        )
    )
    levels = [p["level"] for p in recorder.payloads()]
    assert len(levels) == 2_220 and len(set(recorder.ids())) == 2_220
    position = {lvl: [i for i, v in enumerate(levels) if v == lvl] for lvl in (0, 1, 2)}
    print(
        f"\nlast handled: level 2 at #{position[2][-1]}, level 1 at #{position[1][-1]}, "
        f"level 0 at #{position[0][-1]} of 2 220"
    )
    # weights 4:2:1 of a batch of 10 -> 5/2/1 a turn, spare room to the highest with more
    assert position[0][-1] < 300, "the lowest level kept moving under a flood above it"
    assert position[1][-1] < 1_200 < position[2][-1], "level 2 still had the most share"
    for lvl in (0, 1, 2):  # in order within a level
        ns = [p["n"] for p in recorder.payloads() if p["level"] == lvl]
        assert ns == sorted(ns)


def test_each_level_retries_dead_letters_and_delays_on_its_own_stream(
    twin: Twin, redis_url: str, queue_name: str, manager: Manager
) -> None:
    seen: list[tuple[object, int]] = []

    def handle(message: Message) -> None:
        seen.append((message.payload, message.deliveries))
        if message.payload == "bad":
            raise RuntimeError("no")

    high = Producer(queue_name, redis=redis_url, priority=2)
    twin.start(
        twin.make(
            "Consumer",
            queue_name,
            "g",
            handle,
            redis_url,
            priorities=3,
            max_deliveries=2,
            backoff_base=0.05,
            **FAST,
        )
    )
    high.publish("bad")
    high.publish("later", delay=0.2)
    wait_for(lambda: manager.dead_letters(queue_name), 10, message="dead-lettered")
    wait_for(lambda: ("later", 1) in seen, 5, message="delayed delivered")
    assert [d for p, d in seen if p == "bad"] == [1, 2]
    [dead] = manager.dead_letters(queue_name)
    assert dead.error == "RuntimeError: no"
    client = manager.client
    assert client.xlen(queue_keys(queue_name, 2).stream) == 2
    assert (
        not client.exists(queue_keys(queue_name).stream)
        or client.xlen(queue_keys(queue_name).stream) == 0
    )
    high.close()


def test_priority_settings_are_validated(twin: Twin, redis_url: str) -> None:
    with pytest.raises(ValueError, match="priority level"):
        twin.make("Producer", "q", redis=redis_url, priority=10)
    with pytest.raises(ValueError, match="priorities"):
        twin.make("Consumer", "q", "g", print, redis_url, priorities=2, ordered=True)
    with pytest.raises(ValueError, match="priorities"):
        twin.make("Consumer", "q", "g", print, redis_url, priorities=2, level=1)


@pytest.mark.runs_on("single", "cluster")
def test_a_consumer_of_one_level_reads_only_that_level_and_registers_it(
    twin: Twin, redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    for level in (0, 1, 2):
        producer = Producer(queue_name, redis=redis_url, priority=level)
        producer.publish_many([{"level": level, "n": n} for n in range(3)])
        producer.close()
    recorder = Recorder()
    twin.burst(twin.make("Consumer", queue_name, "g", recorder, redis_url, level=1, **FAST))
    assert recorder.payloads() == [{"level": 1, "n": n} for n in range(3)]
    assert {m.deliveries for m in recorder.messages} == {1}
    assert redis_client.smembers(queue_keys(queue_name).levels) >= {b"1"}
    level1 = queue_keys(queue_name, 1).stream
    assert redis_client.xpending(level1, "g")["pending"] == 0, "acknowledged on its stream"
    assert redis_client.xlen(queue_keys(queue_name).stream) == 3, "level 0 untouched"
    assert not any(
        g["name"] == b"g" for g in redis_client.xinfo_groups(queue_keys(queue_name).stream)
    )


def test_manager_info_counts_every_level_so_a_stuck_message_at_any_level_shows(
    redis_url: str, queue_name: str, manager: Manager
) -> None:
    client = redis.Redis.from_url(redis_url)
    for level, count in ((0, 2), (2, 3)):
        producer = Producer(queue_name, redis=redis_url, priority=level)
        producer.publish_many(list(range(count)))
        producer.close()
    # nobody reads yet: level 2's messages count before any consumer knows of the level
    info = manager.info(queue_name)
    assert (info.length, info.levels) == (5, (2,))

    manager.create_group(queue_name, "g", start="0")
    # a group that does not read level 2 yet: its three messages are lag, not hidden
    assert manager.info(queue_name).group("g").lag == 5
    level2 = queue_keys(queue_name, 2).stream
    client.xgroup_create(level2, "g", id="0")
    client.xreadgroup("g", "ghost", {level2: ">"}, count=2)  # read two, then died
    group = manager.info(queue_name).group("g")
    assert (group.pending, group.lag) == (2, 3), "two stuck at level 2; 2 + 1 undelivered"
    assert [(c.name, c.pending) for c in group.consumers] == [("ghost", 2)]
    assert group.oldest_pending_ms is not None

    [many] = manager.info_many([queue_name])
    assert (many.length, many.group("g").pending, many.group("g").lag) == (5, 2, 3)

    assert manager.delete_queue(queue_name)
    assert not any(client.exists(k) for k in (level2, queue_keys(queue_name).levels))


def test_stats_count_every_level(
    twin: Twin, redis_url: str, queue_name: str, manager: Manager
) -> None:
    for level in (0, 2):
        producer = Producer(queue_name, redis=redis_url, priority=level)
        producer.publish_many([{"level": level, "n": n} for n in range(5)])
        producer.close()
    consumer = twin.make(
        "Consumer", queue_name, "g", lambda m: None, redis_url, priorities=3, **FAST
    )
    twin.burst(consumer)
    assert consumer.stats.processed == 10, consumer.stats
    assert manager.info(queue_name).group("g").pending == 0
