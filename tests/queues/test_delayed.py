"""Delayed messages: held in the delayed set, moved into the stream once when due."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import redis

from queues import Consumer, Manager, Producer
from queues.commands import move_due_call
from queues.keys import queue_keys
from queues.scripts import Scripts
from tests.queues.conftest import FAST, Child, Recorder, Runner, wait_for


@pytest.mark.runs_on("single", "cluster")
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


@pytest.mark.runs_on("single", "cluster")
def test_concurrent_movers_move_each_due_ticket_exactly_once(
    queue_name: str, producer: Producer, manager: Manager, redis_client: redis.Redis
) -> None:
    keys = queue_keys(queue_name)
    due = time.time() + 0.05
    for i in range(300):
        producer.publish({"n": i}, at=due)
    wait_for(lambda: time.time() > due + 0.01, 2, message="tickets due")
    client = redis_client  # a cluster client in tests/scaleout
    scripts = Scripts(client)
    start = threading.Barrier(6)

    def mover() -> None:
        start.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            scripts.move_due(*move_due_call(keys, 7))
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


@pytest.mark.runs_on("single", "cluster")
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


@pytest.mark.runs_on("single", "cluster")
def test_a_delayed_publish_with_a_dedup_key_is_scheduled_once(
    queue_name: str, producer: Producer, manager: Manager
) -> None:
    first = producer.publish("x", delay=30, dedup_key="k")
    assert producer.publish("x", delay=30, dedup_key="k") == first
    assert manager.info(queue_name).delayed == 1


@pytest.mark.runs_on("single", "cluster")
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


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def test_two_thousand_random_delays_with_four_movers_arrive_once_on_time(
    redis_url: str, queue_name: str, producer: Producer, runner: Runner
) -> None:
    import random

    delivered: dict[int, list[float]] = {}
    lock = threading.Lock()

    def handle(message: Any) -> None:
        now_ms = time.time() * 1000
        with lock:
            delivered.setdefault(message.payload["n"], []).append(now_ms)

    movers = [  # every consumer is a mover
        Consumer(queue_name, "g", handle, redis_url, name=f"mover-{n}", move_interval=0.05, **FAST)
        for n in range(4)
    ]
    for mover in movers:
        runner.start(mover)
    # measure a running system: every mover has joined the group before the first publish
    wait_for(lambda: all(m.ready for m in movers), 10, message="4 movers up")
    # and the library, not a full collection of everything earlier tests left in this process
    gc.collect()
    gc.freeze()
    rng = random.Random(4)
    due: dict[int, float] = {}
    for n in range(2_000):
        due_ms = int((time.time() + rng.uniform(0, 2)) * 1000)
        due[n] = due_ms
        producer.publish({"n": n}, at=due_ms / 1000)
    wait_for(lambda: len(delivered) == 2_000, 10, message="all 2 000 delivered")
    time.sleep(0.3)  # a double delivery would show up within this grace period

    assert all(len(times) == 1 for times in delivered.values()), "a message came twice"
    lateness = [delivered[n][0] - due[n] for n in due]
    early = [late for late in lateness if late < -1]  # at= goes through a float: 1 ms slack
    assert not early, f"{len(early)} delivered before due, worst {min(early):.1f} ms"
    p50, p99 = _percentile(lateness, 0.5), _percentile(lateness, 0.99)
    print(
        f"\ndelayed lateness over 2 000 msgs, 4 movers: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {max(lateness):.1f} ms"
    )
    gc.unfreeze()
    assert p99 <= 100, f"p99 lateness {p99:.1f} ms"


MOVER_CHILD = """
    import time

    import redis
    from queues.commands import move_due_call
    from queues.keys import queue_keys
    from queues.scripts import Scripts

    keys, args = move_due_call(queue_keys({queue!r}), 1)
    client = redis.Redis.from_url({url!r})
    scripts = Scripts(client)
    print("ready", flush=True)
    client.blpop(["go"])  # all movers start together
    while True:  # small, paced steps, so each SIGKILL lands between two of them
        scripts.move_due(keys=keys, args=args)
        time.sleep(0.001)
"""


@pytest.mark.chaos
def test_movers_killed_between_steps_lose_and_double_nothing(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    redis_client: redis.Redis,
    spawn: Callable[[str], Child],
) -> None:
    import random
    import signal

    keys = queue_keys(queue_name)
    at = time.time() + 1.0
    producer_ids = [producer.publish({"n": n}, at=at) for n in range(1_000)]
    assert len(set(producer_ids)) == 1_000 and redis_client.zcard(keys.delayed) == 1_000
    rng = random.Random(7)
    wait_for(lambda: time.time() > at + 0.01, 5, message="all tickets due")
    kills = 0
    deadline = time.monotonic() + 60
    while redis_client.zcard(keys.delayed) and time.monotonic() < deadline:
        children = [spawn(MOVER_CHILD.format(url=redis_url, queue=queue_name)) for _ in range(4)]
        wait_for(
            lambda: all("ready" in c.output() for c in children),  # noqa: B023
            15,
            message="movers started",
        )
        before = redis_client.zcard(keys.delayed)
        redis_client.rpush("go", *["go"] * len(children))
        time.sleep(rng.uniform(0.02, 0.06))  # a random point in the movers' loop
        for child in children:
            child.proc.send_signal(signal.SIGKILL)
            child.proc.wait(5)
            kills += 1
        assert redis_client.zcard(keys.delayed) <= before
    assert redis_client.zcard(keys.delayed) == 0, "movers made no progress"
    payloads = [fields[b"payload"] for _, fields in redis_client.xrange(keys.stream)]
    print(f"\n{kills} movers SIGKILLed while moving 1 000 due tickets")
    assert kills >= 8, "too few kills to mean anything"
    assert len(payloads) == 1_000 and len(set(payloads)) == 1_000, "lost or doubled"
    assert redis_client.xlen(keys.dead) == 0


def test_a_due_time_is_never_before_its_delay() -> None:
    """Due times are whole milliseconds, rounded up: truncated, a message delayed 0.4 s was
    due (and could be delivered) up to a millisecond before 0.4 s had passed."""
    from queues.delayed import due_ms

    for _ in range(200):
        before = time.time()
        assert (due_ms(0.4, None) or 0) >= (before + 0.4) * 1000
        when = before + 1.2345678
        assert (due_ms(None, when) or 0) >= when * 1000
