"""Ordered mode: one active consumer per group; a successor takes over what a dead one held
and carries on strictly in id order. Each test runs on queues.Consumer and queues.aio's."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator

import pytest
import redis

from queues import Manager, Message, OrderedConsumerActive, Producer
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Child, wait_for
from tests.queues.test_twins import Twin


@pytest.fixture(params=["sync", "aio"])
def twin(request: pytest.FixtureRequest) -> Iterator[Twin]:
    t = Twin(request.param)
    yield t
    t.close()


CHILD_A = """
    import threading
    import redis
    from queues import Consumer

    url, queue = {url!r}, {queue!r}
    marks = redis.Redis.from_url(url)

    def handle(message):
        n = message.payload
        if n == 51:
            marks.rpush("a-stuck", n)
            threading.Event().wait()  # hangs here until SIGKILL, holding 51-55
        marks.rpush("a-done", n)

    Consumer(queue, "g", handle, url, name="A", ordered=True, batch_size=5, lock_ttl=1.0,
             block_ms=100).run()
"""


class Sequence:
    """Thread-safe list of handled payloads (ints), with the consumer that handled each."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        self.seen: list[int] = []

    def __call__(self, message: Message) -> None:
        with self.lock:
            self.seen.append(message.payload)

    def snapshot(self) -> list[int]:
        with self.lock:
            return list(self.seen)


@pytest.mark.chaos
def test_a_successor_takes_over_a_killed_ordered_consumer_and_keeps_strict_order(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    twin: Twin,
    spawn: Callable[[str], Child],
) -> None:
    producer.publish_many(list(range(1, 101)))
    child = spawn(CHILD_A.format(url=redis_url, queue=queue_name))
    wait_for(lambda: redis_client.llen("a-stuck") == 1, 20, message="A stuck in 51")
    assert [int(n) for n in redis_client.lrange("a-done", 0, -1)] == list(range(1, 51))
    pending = manager.pending(queue_name, "g", count=100)
    assert [(p.consumer, p.deliveries) for p in pending] == [("A", 1)] * 5, "A holds 51-55"
    child.proc.send_signal(signal.SIGKILL)
    child.proc.wait(5)

    b = Sequence("B")
    twin.start(
        twin.make(
            "Consumer",
            queue_name,
            "g",
            b,
            redis_url,
            name="B",
            ordered=True,
            lock_ttl=1.0,
            batch_size=7,
            **FAST,
        )
    )
    wait_for(lambda: len(b.snapshot()) >= 20, 15, message="B took over and got going")
    c = Sequence("C")
    twin.start(
        twin.make(
            "Consumer",
            queue_name,
            "g",
            c,
            redis_url,
            name="C",
            ordered=True,
            lock_ttl=1.0,
            batch_size=7,
            **FAST,
        )
    )
    producer.publish_many(list(range(101, 151)))
    wait_for(lambda: len(b.snapshot()) == 100, 15, message="B handled 51-150")

    assert b.snapshot() == list(range(51, 151)), "no gap, no reorder"
    assert c.snapshot() == [], "a second consumer waits while B is active"
    group = manager.info(queue_name).group("g")
    assert "A" not in {consumer.name for consumer in group.consumers}, "A was removed"
    assert group.pending == 0
    claimed = [e for e in manager.events(count=500) if e.type == "claimed"]
    assert [(e.previous_owner, e.new_owner) for e in claimed] == [("A", "B")] * 5

    with pytest.raises(OrderedConsumerActive, match="'B' is the active consumer"):
        twin.burst(
            twin.make(
                "Consumer",
                queue_name,
                "g",
                c,
                redis_url,
                name="D",
                ordered=True,
                on_active="exit",
                **FAST,
            )
        )


@pytest.mark.runs_on("single", "cluster")
def test_a_failing_message_in_ordered_mode_is_retried_before_anything_newer(
    twin: Twin,
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
) -> None:
    seen: list[tuple[int, int]] = []

    def flaky(message: Message) -> None:
        seen.append((message.payload, message.deliveries))
        if message.payload == 2 and message.deliveries < 3:
            raise RuntimeError("not yet")

    producer.publish_many([1, 2, 3, 4])
    twin.burst(
        twin.make(
            "Consumer", queue_name, "g", flaky, redis_url, ordered=True, backoff_base=0.05, **FAST
        )
    )
    # 3 and 4 had been read with 2, so they come again (their counter says so), after it
    assert seen == [(1, 1), (2, 1), (2, 2), (2, 3), (3, 2), (4, 2)]
    assert manager.info(queue_name).group("g").pending == 0
    assert not redis_client.exists(queue_keys(queue_name).ordered_lock("g"))


def test_a_pending_entry_trimmed_away_in_ordered_mode_is_dead_lettered_not_lost_unseen(
    twin: Twin, redis_url: str, queue_name: str, producer: Producer, manager: Manager
) -> None:
    keys = queue_keys(queue_name)
    ids = producer.publish_many([1, 2, 3, 4])
    manager.create_group(queue_name, "g", start="0")
    client = redis.Redis.from_url(redis_url)
    client.xreadgroup("g", "A", {keys.stream: ">"}, count=10)  # A read all four, then died
    client.xdel(keys.stream, ids[1])
    seen: list[Message] = []
    twin.burst(
        twin.make(
            "Consumer", queue_name, "g", seen.append, redis_url, name="A", ordered=True, **FAST
        )
    )
    assert [m.payload for m in seen] == [1, 3, 4]
    [dead] = manager.dead_letters(queue_name)
    assert (dead.original_id, dead.reason, dead.consumer) == (ids[1], "trimmed", "A")
    assert manager.info(queue_name).group("g").pending == 0


def test_ordered_mode_refuses_concurrency(twin: Twin, redis_url: str) -> None:
    with pytest.raises(ValueError, match="concurrency=1"):
        twin.make("Consumer", "q", "g", print, redis_url, ordered=True, concurrency=2)
