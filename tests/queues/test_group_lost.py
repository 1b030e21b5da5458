"""A group deleted under running consumers: re-created where this consumer had read to (no
replay of acknowledged history), or, with on_group_lost="stop", run() stops with GroupLost;
the group_recreated event tells the true start."""

from __future__ import annotations

import asyncio
import threading

import pytest
import redis

from queues import Consumer, Manager, Producer, aio
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Recorder, Runner, wait_for


def recreated_events(manager: Manager, queue: str) -> list[dict[str, str]]:
    return [e.fields for e in manager.events(queue=queue) if e.type == "group_recreated"]


def test_a_deleted_group_is_recreated_after_what_was_read_without_replaying_history(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    runner: Runner,
) -> None:
    recorder = Recorder()
    runner.start(Consumer(queue_name, "g", recorder, redis_url, name="c1", **FAST))
    first = producer.publish_many([{"n": i} for i in range(5)])
    wait_for(lambda: recorder.count == 5, 10, message="first five handled")
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 5, message="acked")

    redis_client.xgroup_destroy(queue_keys(queue_name).stream, "g")
    later = producer.publish_many([{"n": i} for i in range(5, 8)])
    wait_for(lambda: recorder.count >= 8, 10, message="later ones handled")
    wait_for(lambda: recreated_events(manager, queue_name), 5, message="event written")

    assert sorted(recorder.ids().items()) == sorted((i, 1) for i in first + later), (
        "acknowledged history was replayed"
    )
    [event] = recreated_events(manager, queue_name)
    assert event["start"] == first[-1], "the event names where the group really starts"
    assert event["group"] == "g" and event["consumer"] == "c1"


def test_with_on_group_lost_stop_run_raises_group_lost(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
) -> None:
    recorder = Recorder()
    consumer = Consumer(queue_name, "g", recorder, redis_url, on_group_lost="stop", **FAST)
    raised: list[BaseException] = []

    def target() -> None:
        try:
            consumer.run()
        except BaseException as exc:  # noqa: BLE001 - checked below
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    producer.publish("one")
    wait_for(lambda: recorder.count == 1, 10, message="handled")
    redis_client.xgroup_destroy(queue_keys(queue_name).stream, "g")
    thread.join(10)
    consumer.close()
    assert not thread.is_alive(), "run() stopped"
    [error] = raised
    assert type(error).__name__ == "GroupLost"
    assert queue_name in str(error) and "'g'" in str(error)
    assert redis_client.xinfo_groups(queue_keys(queue_name).stream) == [], "not re-created"
    assert recreated_events(manager, queue_name) == []


def test_on_group_lost_is_checked(redis_url: str) -> None:
    with pytest.raises(ValueError, match="on_group_lost"):
        Consumer("q", "g", print, redis_url, on_group_lost="replay")
    with pytest.raises(ValueError, match="on_group_lost"):
        aio.Consumer("q", "g", print, redis_url, on_group_lost="replay")


def test_the_asyncio_consumer_recreates_a_deleted_group_the_same_way(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
) -> None:
    recorder = Recorder()

    async def scenario() -> None:
        consumer = aio.Consumer(queue_name, "g", recorder, redis_url, name="a1", block_ms=100)
        task = asyncio.create_task(consumer.run())
        first = producer.publish_many([{"n": i} for i in range(3)])
        while recorder.count < 3 or manager.info(queue_name).group("g").pending:
            await asyncio.sleep(0.02)
        redis_client.xgroup_destroy(queue_keys(queue_name).stream, "g")
        later = producer.publish("later")
        deadline = asyncio.get_running_loop().time() + 10
        while later not in recorder.ids() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        consumer.stop()
        await task
        await consumer.close()
        assert sorted(recorder.ids().items()) == sorted((i, 1) for i in [*first, later])
        [event] = recreated_events(manager, queue_name)
        assert event["start"] == first[-1]

    asyncio.run(scenario())


def test_a_consumer_run_again_on_its_existing_group_is_not_told_the_group_was_lost(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager
) -> None:
    recorder = Recorder()
    consumer = Consumer(queue_name, "g", recorder, redis_url, on_group_lost="stop", **FAST)
    producer.publish("one")
    consumer.run(burst=True)
    producer.publish("two")
    consumer.run(burst=True)  # the group is still there: nothing was lost
    consumer.close()
    assert recorder.payloads() == ["one", "two"]
    assert recreated_events(manager, queue_name) == []
