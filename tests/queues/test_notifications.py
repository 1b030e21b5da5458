"""Completion notifications: a producer waits for or subscribes to how its messages ended,
through its own reply stream, which goes away with the producer."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import pytest
import redis

from queues import Completion, Consumer, Message, Producer
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Child, wait_for


def picky(message: Message) -> None:
    if message.payload == "bad":
        raise ValueError("cannot handle bad")


def test_a_producer_waits_for_done_and_dead_and_subscribers_hear_all(
    redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    producer = Producer(queue_name, redis=redis_url)
    heard: list[Completion] = []
    lock = threading.Lock()

    def hear(completion: Completion) -> None:
        with lock:
            heard.append(completion)

    producer.on_completion(hear)
    good = producer.publish("good", notify=True)
    bad = producer.publish("bad", notify=True)
    later = producer.publish("later", notify=True, delay=0.2)
    silent = producer.publish("silent")
    assert not hasattr(silent, "wait")

    Consumer(queue_name, "g", picky, redis_url, max_deliveries=1, **FAST).run(burst=True)
    done = good.wait(5)
    assert done is not None and done.ok and done.id == good
    dead = bad.wait(5)
    assert dead is not None and (dead.status, dead.error) == (
        "dead",
        "ValueError: cannot handle bad",
    )

    runner_consumer = Consumer(queue_name, "g", picky, redis_url, **FAST)
    thread = threading.Thread(target=runner_consumer.run, daemon=True)
    thread.start()
    try:
        delayed = later.wait(5)
        assert delayed is not None and delayed.ok, "a delayed message reports too"
    finally:
        runner_consumer.stop()
        thread.join(10)
    wait_for(lambda: len(heard) == 3, 5, message="subscriber heard all three")
    assert sorted(c.status for c in heard) == ["dead", "done", "done"]

    keys = queue_keys(queue_name)
    producer.close()
    assert not redis_client.exists(keys.reply(producer.producer_id))
    assert not redis_client.exists(keys.producer_alive(producer.producer_id))


CHILD_PRODUCER = """
    import time
    from queues import Producer

    producer = Producer({queue!r}, redis={url!r}, reply_ttl=0.5)
    producer.publish("orphan", notify=True)
    print(producer.producer_id, flush=True)
    time.sleep(60)
"""


@pytest.mark.chaos
def test_a_dead_producers_reply_stream_is_collected(
    redis_url: str, queue_name: str, redis_client: redis.Redis, spawn: Callable[[str], Child]
) -> None:
    keys = queue_keys(queue_name)
    child = spawn(CHILD_PRODUCER.format(queue=queue_name, url=redis_url))
    wait_for(lambda: child.output().strip(), 15, message="child published")
    producer_id = child.output().split()[0]
    child.proc.send_signal(signal.SIGKILL)
    child.proc.wait(5)
    wait_for(
        lambda: not redis_client.exists(keys.producer_alive(producer_id)), 5, message="expired"
    )
    # a consumer settling its message writes nothing for a dead producer
    Consumer(queue_name, "g", picky, redis_url, **FAST).run(burst=True)
    assert not redis_client.exists(keys.reply(producer_id))
    # and a reply stream left behind by one is swept when a consumer starts
    redis_client.xadd(keys.reply("ghost"), {"token": "t", "status": "done"})
    Consumer(queue_name, "g", picky, redis_url, **FAST).run(burst=True)
    assert not redis_client.exists(keys.reply("ghost"))
