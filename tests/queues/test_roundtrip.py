"""Messages go from producer to handler, are acknowledged, and show up in info()."""

from __future__ import annotations

import pytest

from queues import Consumer, Manager, Message, Producer
from tests.queues.conftest import FAST, Recorder, Runner, wait_for


@pytest.mark.runs_on("single", "cluster")
def test_burst_processes_what_is_there_and_returns(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager, recorder: Recorder
) -> None:
    producer.publish_many([{"n": i} for i in range(25)])
    consumer = Consumer(queue_name, group="g", handler=recorder, redis=redis_url, **FAST)
    consumer.run(burst=True)
    assert sorted(p["n"] for p in recorder.payloads()) == list(range(25))
    info = manager.info(queue_name)
    group = info.group("g")
    assert (info.length, group.pending, group.lag) == (25, 0, 0)
    assert consumer.stats.processed == 25


@pytest.mark.runs_on("single", "cluster")
def test_a_group_created_by_a_consumer_sees_messages_published_before_it(
    redis_url: str, queue_name: str, producer: Producer, recorder: Recorder
) -> None:
    producer.publish("early")
    Consumer(queue_name, "late-group", recorder, redis_url, **FAST).run(burst=True)
    assert recorder.payloads() == ["early"]


@pytest.mark.runs_on("single", "cluster")
def test_a_running_consumer_handles_messages_as_they_arrive(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager, runner: Runner
) -> None:
    seen: list[Message] = []
    runner.start(Consumer(queue_name, "g", seen.append, redis_url, name="worker-1", **FAST))
    ids = [producer.publish({"n": i}, headers={"h": i}) for i in range(5)]
    wait_for(lambda: len(seen) == 5, 10, message="five messages handled")
    assert [m.id for m in seen] == ids
    first = seen[0]
    assert (first.queue, first.group, first.deliveries, first.headers) == (
        queue_name,
        "g",
        1,
        {"h": 0},
    )
    assert first.published is not None
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 5, message="all acked")
    group = manager.info(queue_name).group("g")
    assert [c.name for c in group.consumers] == ["worker-1"]
    assert group.active_consumers == 1


@pytest.mark.runs_on("single", "cluster")
def test_a_consumer_removes_itself_from_the_group_on_a_clean_exit(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager
) -> None:
    producer.publish(1)
    Consumer(queue_name, "g", lambda m: None, redis_url, name="short-lived", **FAST).run(burst=True)
    assert manager.info(queue_name).group("g").consumers == ()


def test_consumer_settings_are_validated(redis_url: str) -> None:
    with pytest.raises(ValueError, match="max_deliveries"):
        Consumer("q", "g", print, redis_url, max_deliveries=0)
    with pytest.raises(ValueError, match="claim_idle"):
        Consumer("q", "g", print, redis_url, claim_idle=0)
    with pytest.raises(ValueError, match="reserved"):
        Consumer("q", "g", print, redis_url, name="__retry__")
    with pytest.raises(TypeError, match="callable"):
        Consumer("q", "g", None, redis_url)  # type: ignore[arg-type]
