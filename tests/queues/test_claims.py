"""Claiming: dead or hung consumers lose their messages to live ones, live ones never do."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
import redis

from queues import Consumer, Manager, Message, Producer
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Child, Recorder, Runner, start_thief, wait_for

CHILD_CONSUMER = """
    import sys, time
    import redis
    from queues import Consumer

    url, queue = sys.argv[1] if len(sys.argv) > 1 else {url!r}, {queue!r}
    marks = redis.Redis.from_url(url)

    def handle(message):
        marks.rpush("started", message.id)
        time.sleep(3600)  # killed in here

    Consumer(queue, "g", handle, url, name="doomed", claim_idle={claim_idle},
             batch_size=5, block_ms=100).run()
"""


def claimed_events(manager: Manager, queue: str) -> list:
    return [e for e in manager.events(10_000, queue=queue) if e.type == "claimed"]


@pytest.mark.chaos
def test_a_message_of_a_consumer_killed_in_its_handler_is_processed_by_another(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    runner: Runner,
    spawn: Callable[[str], Child],
) -> None:
    ids = producer.publish_many([{"n": i} for i in range(5)])
    child = spawn(CHILD_CONSUMER.format(url=redis_url, queue=queue_name, claim_idle=0.5))
    wait_for(lambda: redis_client.llen("started") == 1, 15, message="child started a handler")
    child.proc.send_signal(signal.SIGKILL)
    child.proc.wait(5)
    assert len(manager.pending(queue_name, "g", consumer="doomed")) == 5  # it held the batch

    rescued = Recorder()
    runner.start(Consumer(queue_name, "g", rescued, redis_url, claim_idle=0.5, **FAST))
    wait_for(lambda: rescued.count >= 5, 10, message="rescuer handled the dead one's messages")
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 5, message="acked")

    assert sorted(rescued.ids()) == sorted(ids)
    assert max(rescued.ids().values()) == 1
    assert {m.deliveries for m in rescued.messages} == {2}
    events = claimed_events(manager, queue_name)
    assert Counter(e.message_id for e in events) == Counter(ids), "one event per claim"
    first = events[0]
    assert first.previous_owner == "doomed"
    assert first.new_owner == runner.started[0][0].name
    assert first.group == "g" and first.queue == queue_name
    assert first.deliveries == 2
    assert first.idle_ms is not None and first.idle_ms >= 500


@pytest.mark.runs_on("single", "cluster")
def test_a_slow_handler_in_a_live_consumer_is_not_claimed(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager, runner: Runner
) -> None:
    claim_idle = 0.4
    slow_done = threading.Event()
    calls: list[Message] = []

    def slow(message: Message) -> None:
        calls.append(message)
        time.sleep(3 * claim_idle)
        slow_done.set()

    runner.start(
        Consumer(queue_name, "g", slow, redis_url, name="slow", claim_idle=claim_idle, **FAST)
    )
    producer.publish("slow one")
    wait_for(lambda: calls, 5, message="slow handler started")
    thief = start_thief(runner, queue_name, redis_url, claim_idle)
    assert slow_done.wait(10)
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 5, message="acked")
    assert len(calls) == 1
    assert thief.count == 0
    assert claimed_events(manager, queue_name) == []


@pytest.mark.runs_on("single", "cluster")
def test_eight_consumers_racing_to_claim_five_thousand_idle_entries_process_each_once(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    runner: Runner,
) -> None:
    keys = queue_keys(queue_name)
    ids = producer.publish_many([{"n": i} for i in range(5_000)])
    manager.create_group(queue_name, "g", start="0")
    # a consumer that reads everything and dies without acknowledging anything
    redis_client.xreadgroup("g", "ghost", {keys.stream: ">"}, count=5_000)
    assert manager.info(queue_name).group("g").pending == 5_000

    recorder = Recorder()
    consumers = [
        Consumer(
            queue_name,
            "g",
            recorder,
            redis_url,
            name=f"racer-{i}",
            claim_idle=1.0,
            claim_interval=0.05,
            batch_size=50,
            **FAST,
        )
        for i in range(8)
    ]
    for consumer in consumers:
        runner.start(consumer)
    wait_for(lambda: recorder.count >= 5_000, 60, message="all idle entries handled")
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 10, message="all acked")

    seen = recorder.ids()
    assert set(seen) == set(ids)
    assert max(seen.values()) == 1, "an entry was processed twice"
    events = claimed_events(manager, queue_name)
    assert len(events) == 5_000 and {e.message_id for e in events} == set(ids)
    assert {e.previous_owner for e in events} == {"ghost"}
    assert len({e.new_owner for e in events}) > 1, "the work was shared"


@pytest.mark.runs_on("single", "cluster")
def test_a_pending_entry_whose_data_was_deleted_is_dead_lettered_not_retried_forever(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
) -> None:
    keys = queue_keys(queue_name)
    gone, kept = producer.publish_many(["gone", "kept"])
    manager.create_group(queue_name, "g", start="0")
    redis_client.xreadgroup("g", "ghost", {keys.stream: ">"}, count=10)
    redis_client.xdel(keys.stream, gone)
    wait_for(
        lambda: len(manager.pending(queue_name, "g", min_idle_ms=200)) == 2,
        5,
        message="both entries idle longer than claim_idle",
    )
    recorder = Recorder()
    Consumer(queue_name, "g", recorder, redis_url, claim_idle=0.2, **FAST).run(burst=True)
    assert recorder.payloads() == ["kept"]
    [dead] = manager.dead_letters(queue_name)
    assert (dead.original_id, dead.reason, dead.consumer) == (gone, "trimmed", "ghost")
    assert manager.info(queue_name).group("g").pending == 0


@pytest.mark.runs_on("single", "cluster")
def test_a_handler_stuck_longer_than_handler_timeout_loses_its_message(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager, runner: Runner
) -> None:
    release = threading.Event()
    stuck_calls: list[Message] = []

    def stuck(message: Message) -> None:
        stuck_calls.append(message)
        release.wait(10)

    runner.start(
        Consumer(
            queue_name,
            "g",
            stuck,
            redis_url,
            name="stuck",
            claim_idle=0.3,
            handler_timeout=0.5,
            **FAST,
        )
    )
    entry_id = producer.publish("x")
    wait_for(lambda: stuck_calls, 5, message="stuck handler started")
    rescuer = Recorder()
    runner.start(Consumer(queue_name, "g", rescuer, redis_url, claim_idle=0.3, **FAST))
    wait_for(lambda: rescuer.count == 1, 10, message="rescued from the stuck handler")
    release.set()
    [event] = claimed_events(manager, queue_name)
    assert (event.message_id, event.previous_owner) == (entry_id, "stuck")


@pytest.mark.runs_on("single", "cluster")
def test_entries_delivered_to_a_consumer_whose_read_reply_was_lost_are_recovered(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    runner: Runner,
) -> None:
    ids = producer.publish_many(["a", "b"])
    manager.create_group(queue_name, "g", start="0")
    # Redis delivered both to "me", but the reply never reached it (connection dropped)
    redis_client.xreadgroup("g", "me", {queue_keys(queue_name).stream: ">"}, count=2)
    recorder = Recorder()
    runner.start(Consumer(queue_name, "g", recorder, redis_url, name="me", claim_idle=0.2, **FAST))
    wait_for(lambda: recorder.count == 2, 5, message="own orphaned entries handled")
    assert sorted(recorder.ids()) == sorted(ids)
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 5, message="acked")
