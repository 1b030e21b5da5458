"""Failures: retries with growing backoff held in Redis, then the dead-letter stream."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest
import redis

from queues import Consumer, Manager, Message, Producer
from queues.backoff import retry_delay
from queues.keys import RETRY_CONSUMER, queue_keys
from tests.queues.conftest import FAST, Child, Recorder, Runner, wait_for


class Boom(RuntimeError):
    pass


@pytest.mark.runs_on("single", "cluster")
def test_a_handler_that_always_raises_is_retried_with_growing_delay_then_dead_lettered(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager, runner: Runner
) -> None:
    attempts = Recorder()

    def always_fails(message: Message) -> None:
        attempts(message)
        raise Boom(f"cannot handle {message.payload['n']}")

    base = 0.2
    runner.start(
        Consumer(
            queue_name,
            "g",
            always_fails,
            redis_url,
            max_deliveries=4,
            backoff_base=base,
            claim_idle=5.0,
            claim_interval=0.05,
            **FAST,
        )
    )
    entry_id = producer.publish({"n": 7})
    wait_for(lambda: manager.info(queue_name).dead == 1, 15, message="dead-lettered")

    assert [m.deliveries for m in attempts.messages] == [1, 2, 3, 4]
    gaps = [b - a for a, b in zip(attempts.times, attempts.times[1:], strict=False)]
    for delivery, gap in enumerate(gaps, start=1):
        assert gap >= retry_delay(delivery, base=base, cap=300) * 0.95, gaps
    assert gaps[0] < gaps[1] < gaps[2], f"backoff must grow: {gaps}"

    [dead] = manager.dead_letters(queue_name)
    assert dead.original_id == entry_id
    assert dead.reason == "max_deliveries"
    assert dead.error == "Boom: cannot handle 7"
    assert "raise Boom" in dead.traceback
    assert dead.deliveries == 4
    assert dead.payload == {"n": 7} and dead.group == "g"
    info = manager.info(queue_name)
    assert (info.group("g").pending, info.delayed) == (0, 0)
    types = [e.type for e in manager.events(queue=queue_name)]
    assert types.count("retried") == 3 and types.count("dead_lettered") == 1
    assert "claimed" not in types


@pytest.mark.runs_on("single", "cluster")
def test_a_retry_waits_in_redis_not_in_the_process(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager, runner: Runner
) -> None:
    def fails(message: Message) -> None:
        raise Boom("later")

    runner.start(
        Consumer(queue_name, "g", fails, redis_url, backoff_base=60, max_deliveries=3, **FAST)
    )
    entry_id = producer.publish("x")
    wait_for(lambda: manager.info(queue_name).delayed == 1, 5, message="retry ticket")
    [parked] = manager.pending(queue_name, "g")
    assert (parked.id, parked.consumer, parked.deliveries) == (entry_id, RETRY_CONSUMER, 1)
    assert manager.info(queue_name).group("g").parked == 1


CHILD_FAILING = """
    import redis
    from queues import Consumer

    url, queue = {url!r}, {queue!r}
    marks = redis.Redis.from_url(url)

    def handle(message):
        marks.rpush("attempts", message.deliveries)
        raise RuntimeError("not yet")

    Consumer(queue, "g", handle, url, name="flaky", backoff_base=1.0, backoff_jitter=0,
             claim_idle=30, block_ms=100).run()
"""


@pytest.mark.chaos
def test_a_consumer_killed_during_a_backoff_wait_loses_nothing(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    runner: Runner,
    spawn: Callable[[str], Child],
) -> None:
    entry_id = producer.publish({"important": True})
    child = spawn(CHILD_FAILING.format(url=redis_url, queue=queue_name))
    wait_for(lambda: manager.info(queue_name).delayed == 1, 15, message="retry parked")
    child.proc.send_signal(signal.SIGKILL)
    child.proc.wait(5)
    assert redis_client.lrange("attempts", 0, -1) == [b"1"]

    finisher = Recorder()
    runner.start(Consumer(queue_name, "g", finisher, redis_url, claim_interval=0.05, **FAST))
    wait_for(lambda: finisher.count == 1, 10, message="another consumer finished it")
    [message] = finisher.messages
    assert (message.id, message.deliveries, message.payload) == (entry_id, 2, {"important": True})
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 5, message="acked")


@pytest.mark.runs_on("single", "cluster")
def test_an_undecodable_entry_is_dead_lettered_and_the_consumer_goes_on(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    runner: Runner,
) -> None:
    stream = queue_keys(queue_name).stream
    producer.publish({"n": 1})
    not_json = redis_client.xadd(stream, {"payload": b"\xff{not json", "ctype": "json"}).decode()
    foreign = redis_client.xadd(stream, {"hello": "world"}).decode()
    recorder = Recorder()
    runner.start(Consumer(queue_name, "g", recorder, redis_url, **FAST))
    producer.publish({"n": 2})
    wait_for(lambda: recorder.count == 2, 10, message="good messages handled")
    wait_for(lambda: manager.info(queue_name).dead == 2, 5, message="bad ones dead-lettered")

    assert recorder.payloads() == [{"n": 1}, {"n": 2}]
    dead = {d.original_id: d for d in manager.dead_letters(queue_name)}
    assert dead[not_json].reason == dead[foreign].reason == "undecodable"
    assert dead[not_json].payload_raw == b"\xff{not json"
    assert "not valid JSON" in dead[not_json].error
    assert "no 'payload' field" in dead[foreign].error
    assert b"hello" in (dead[foreign].payload_raw or b"")
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 5, message="all settled")


@pytest.mark.runs_on("single", "cluster")
def test_a_handler_calling_sys_exit_does_not_kill_the_consumer(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager, runner: Runner
) -> None:
    handled = Recorder()

    def rude(message: Message) -> None:
        if message.payload == "exit":
            raise SystemExit(3)
        handled(message)

    runner.start(Consumer(queue_name, "g", rude, redis_url, claim_idle=0.3, **FAST))
    producer.publish_many(["exit", "fine", "also fine"])
    wait_for(lambda: handled.count == 2, 5, message="the worker survived")
    # the other two are acknowledged; the rude one is left pending, to be claimed again
    wait_for(lambda: len(manager.pending(queue_name, "g")) == 1, 5, message="two acked")
    assert manager.pending(queue_name, "g")[0].deliveries >= 1


@pytest.mark.runs_on("single", "cluster")
def test_replayed_dead_letters_are_processed(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager, runner: Runner
) -> None:
    healed = False
    handled = Recorder()

    def until_healed(message: Message) -> None:
        if not healed:
            raise Boom("broken dependency")
        handled(message)

    runner.start(Consumer(queue_name, "g", until_healed, redis_url, max_deliveries=1, **FAST))
    ids = producer.publish_many([{"n": i} for i in range(3)])
    wait_for(lambda: manager.info(queue_name).dead == 3, 10, message="all dead-lettered")
    assert sorted(d.original_id for d in manager.dead_letters(queue_name)) == sorted(ids)

    healed = True
    assert manager.replay_dead_letters(queue_name) == 3
    wait_for(lambda: handled.count == 3, 10, message="replayed messages handled")
    assert sorted(p["n"] for p in handled.payloads()) == [0, 1, 2]
    assert manager.info(queue_name).dead == 0
    assert {m.deliveries for m in handled.messages} == {1}


@pytest.mark.runs_on("single", "cluster")
def test_a_replay_for_one_group_is_skipped_by_the_others(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager
) -> None:
    producer.publish("poison for billing")
    Consumer(queue_name, "billing", _raise, redis_url, max_deliveries=1, **FAST).run(burst=True)
    shipping = Recorder()
    Consumer(queue_name, "shipping", shipping, redis_url, **FAST).run(burst=True)
    assert shipping.count == 1
    assert manager.replay_dead_letters(queue_name) == 1

    billing = Recorder()
    Consumer(queue_name, "billing", billing, redis_url, **FAST).run(burst=True)
    Consumer(queue_name, "shipping", shipping, redis_url, **FAST).run(burst=True)
    assert billing.payloads() == ["poison for billing"]
    assert shipping.count == 1, "shipping already had it and skips the replay"
    info = manager.info(queue_name)
    assert info.group("shipping").pending == info.group("billing").pending == 0


@pytest.mark.runs_on("single", "cluster")
def test_dead_letters_can_be_deleted(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager
) -> None:
    producer.publish_many([1, 2, 3])
    Consumer(queue_name, "g", _raise, redis_url, max_deliveries=1, **FAST).run(burst=True)
    first, *rest = manager.dead_letters(queue_name)
    assert manager.delete_dead_letters(queue_name, [first.id]) == 1
    assert manager.delete_dead_letters(queue_name) == len(rest) == 2
    assert manager.dead_letters(queue_name) == []


def _raise(message: Message) -> None:
    raise Boom("always")
