"""Delayed messages: held in the delayed set, moved into the stream once when due."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import redis

from queues import Consumer, Manager, Producer
from queues.keys import RETRY_CONSUMER, queue_keys
from queues.scripts import Scripts
from tests.queues.conftest import FAST, Recorder, Runner, wait_for


def test_a_delayed_message_is_delivered_after_its_delay(
    redis_url: str, queue_name: str, producer: Producer, runner: Runner
) -> None:
    recorder = Recorder()
    runner.start(Consumer(queue_name, "g", recorder, redis_url, **FAST))
    published = time.monotonic()
    producer.publish({"later": 1}, delay=timedelta(milliseconds=400), headers={"h": 1})
    producer.publish({"now": 1})
    wait_for(lambda: recorder.count == 2, 5, message="both delivered")
    now_msg, later_msg = recorder.messages
    assert now_msg.payload == {"now": 1}
    assert later_msg.payload == {"later": 1} and later_msg.headers == {"h": 1}
    assert recorder.times[1] - published >= 0.4


def test_concurrent_movers_move_each_due_ticket_exactly_once(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager
) -> None:
    keys = queue_keys(queue_name)
    due = time.time() + 0.05
    for i in range(300):
        producer.publish({"n": i}, at=due)
    wait_for(lambda: time.time() > due + 0.01, 2, message="tickets due")
    client = redis.Redis.from_url(redis_url)
    scripts = Scripts(client)
    start = threading.Barrier(6)

    def mover() -> None:
        start.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            scripts.move_due(keys=[keys.delayed, keys.stream, keys.dead], args=[7, RETRY_CONSUMER])
            if client.zcard(keys.delayed) == 0:
                return

    threads = [threading.Thread(target=mover) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    payloads = [e for _, e in client.xrange(keys.stream)]
    assert len(payloads) == 300
    assert len({p[b"payload"] for p in payloads}) == 300
    assert manager.info(queue_name).delayed == 0


def test_a_binary_payload_survives_the_delayed_set(
    redis_url: str, queue_name: str, runner: Runner
) -> None:
    class Raw:
        content_type = "raw"

        def dumps(self, payload: Any) -> bytes:
            return bytes(payload)

        def loads(self, data: bytes) -> Any:
            return data

    producer = Producer(queue_name, redis=redis_url, serializer=Raw())
    blob = bytes(range(256))
    producer.publish(blob, delay=0.1)
    recorder = Recorder()
    runner.start(Consumer(queue_name, "g", recorder, redis_url, serializer=Raw(), **FAST))
    wait_for(lambda: recorder.count == 1, 5, message="delivered")
    assert recorder.payloads() == [blob]
    producer.close()


def test_a_delayed_publish_with_a_dedup_key_is_scheduled_once(
    queue_name: str, producer: Producer, manager: Manager
) -> None:
    first = producer.publish("x", delay=30, dedup_key="k")
    assert producer.publish("x", delay=30, dedup_key="k") == first
    assert manager.info(queue_name).delayed == 1


def test_a_broken_ticket_is_dead_lettered_and_does_not_block_the_others(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    runner: Runner,
) -> None:
    keys = queue_keys(queue_name)
    redis_client.zadd(keys.delayed, {"not a ticket": 1, '{"k":"msg","f":["odd"]}': 2})
    producer.publish("good", at=time.time() - 1)
    recorder = Recorder()
    runner.start(Consumer(queue_name, "g", recorder, redis_url, **FAST))
    wait_for(lambda: recorder.payloads() == ["good"], 5, message="good ticket delivered")
    dead = manager.dead_letters(queue_name)
    assert len(dead) == 2 and all("bad delayed ticket" in d.error for d in dead)
    assert manager.info(queue_name).delayed == 0
