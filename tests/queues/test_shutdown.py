"""Stopping: SIGTERM finishes what the consumer holds; a second signal stops at once, leaving
what it holds pending for others; after run() returns no handler starts and no outcome is
written. The signal tests run a queues.Consumer and a queues.aio.Consumer in a child."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import pytest
import redis

from queues import Consumer, Manager, Message, Producer
from tests.queues.conftest import FAST, Child, wait_for

CHILD_SLOW = """
    import asyncio
    import logging
    import time
    import redis
    from queues import Consumer, aio

    logging.basicConfig(level=logging.INFO)
    url, queue, kind = {url!r}, {queue!r}, {kind!r}
    marks = redis.Redis.from_url(url)

    def handle(message):
        marks.rpush("started", message.id)
        time.sleep({seconds})
        marks.rpush("finished", message.id)

    async def handle_async(message):
        marks.rpush("started", message.id)
        await asyncio.sleep({seconds})
        marks.rpush("finished", message.id)

    options = dict(name="slow", batch_size=10, block_ms=100, concurrency={concurrency},
                   claim_idle=30.0)
    try:
        if kind == "sync":
            Consumer(queue, "g", handle, url, **options).run()
        else:
            asyncio.run(aio.Consumer(queue, "g", handle_async, url, **options).run())
    except KeyboardInterrupt:
        print("run() raised KeyboardInterrupt", flush=True)
    marks.rpush("returned", "1")
    time.sleep(3)  # anything still running would show in "started" now
    print("child done", flush=True)
"""


def _second_signal_stops_at_once(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    spawn: Callable[[str], Child],
    concurrency: int,
    kind: str,
) -> tuple[set[str], set[str]]:
    ids = producer.publish_many([{"n": i} for i in range(30)])
    child = spawn(
        CHILD_SLOW.format(
            url=redis_url, queue=queue_name, concurrency=concurrency, kind=kind, seconds=1.0
        )
    )
    wait_for(lambda: redis_client.llen("started") >= 1, 15, message="a handler running")
    child.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: "finishing in-flight" in child.output(), 5, message="first signal seen")
    child.proc.send_signal(signal.SIGTERM)
    # a whole batch of 1 s handlers (10 s) or shutdown_timeout (60 s) would be far later
    wait_for(lambda: redis_client.llen("returned") == 1, 5, message="run() returned at once")
    assert "run() raised KeyboardInterrupt" in child.output()
    started_at_return = redis_client.llen("started")
    assert child.proc.wait(15) == 0, child.output()
    assert redis_client.llen("started") == started_at_return, "no handler started after run()"

    finished = {m.decode() for m in redis_client.lrange("finished", 0, -1)}
    group = manager.info(queue_name).group("g")
    delivered = set(ids[: 30 - group.lag])
    pending = {p.id for p in manager.pending(queue_name, "g")}
    # nothing lost: everything it held and did not acknowledge is pending for others, and
    # it acknowledged only what its handler finished
    assert pending <= delivered and len(pending) == group.pending
    assert delivered - pending <= finished, child.output()
    assert len(delivered - pending) < 10, "it did not finish the batch first"
    assert [c.name for c in group.consumers] == ["slow"], "it owns pending entries: kept"
    return finished, delivered - pending


@pytest.mark.parametrize("kind", ["sync", "aio"])
def test_a_second_signal_stops_at_once_leaving_held_messages_pending(
    kind: str,
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    spawn: Callable[[str], Child],
) -> None:
    finished, acked = _second_signal_stops_at_once(
        redis_url, queue_name, producer, manager, redis_client, spawn, concurrency=1, kind=kind
    )
    # the loop thread's handler (the handler task) was interrupted; each one that finished
    # before is acked
    assert acked == finished


@pytest.mark.parametrize("kind", ["sync", "aio"])
def test_sigterm_finishes_the_held_messages_acknowledges_and_leaves_the_group(
    kind: str,
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    spawn: Callable[[str], Child],
) -> None:
    ids = producer.publish_many([{"n": i} for i in range(3)])
    child = spawn(
        CHILD_SLOW.format(url=redis_url, queue=queue_name, concurrency=1, kind=kind, seconds=0.3)
    )
    wait_for(lambda: redis_client.llen("started") >= 1, 15, message="a handler running")
    child.proc.send_signal(signal.SIGTERM)
    assert child.proc.wait(15) == 0, child.output()
    output = child.output()
    assert "SIGTERM received, finishing in-flight messages" in output
    assert "KeyboardInterrupt" not in output
    finished = [m.decode() for m in redis_client.lrange("finished", 0, -1)]
    assert finished == ids, "every message it held was handled, in order"
    group = manager.info(queue_name).group("g")
    assert (group.pending, group.lag) == (0, 0)
    assert group.consumers == (), "it left the group: nothing was pending"


@pytest.mark.parametrize("kind", ["sync", "aio"])
def test_a_second_signal_stops_worker_threads_at_once(
    kind: str,
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    spawn: Callable[[str], Child],
) -> None:
    # the two handlers running in worker threads end after run() returned: dropped
    _second_signal_stops_at_once(
        redis_url, queue_name, producer, manager, redis_client, spawn, concurrency=2, kind=kind
    )


def test_worker_threads_start_nothing_and_settle_nothing_after_shutdown_timeout(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager
) -> None:
    gate = threading.Event()
    started: list[str] = []

    def blocked(message: Message) -> None:
        started.append(message.id)
        gate.wait(15)

    ids = producer.publish_many([{"n": i} for i in range(10)])
    consumer = Consumer(
        queue_name,
        "g",
        blocked,
        redis_url,
        name="abandoning",
        concurrency=2,
        batch_size=10,
        shutdown_timeout=0.3,
        **FAST,
    )
    runs = threading.Thread(target=consumer.run, daemon=True)
    runs.start()
    wait_for(lambda: len(started) == 2, 10, message="both workers busy")
    consumer.stop()
    runs.join(10)
    assert not runs.is_alive(), "run() returned after shutdown_timeout"
    gate.set()  # the two abandoned handlers return now, after run() did

    def workers_alive() -> bool:
        return any(t.name.startswith("sw-worker-abandoning") for t in threading.enumerate())

    wait_for(lambda: not workers_alive(), 10, message="worker threads ended")
    consumer.close()
    assert len(started) == 2, "no handler started after run() returned"
    # the two that ended late are neither acknowledged nor retried: pending for others
    assert {p.id for p in manager.pending(queue_name, "g")} == set(ids)
    assert manager.info(queue_name).dead == 0


def test_the_asyncio_consumer_leaves_no_handler_running_after_shutdown_timeout(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager
) -> None:
    import asyncio

    from queues import aio

    ids = producer.publish_many([{"n": i} for i in range(10)])
    started: list[str] = []

    async def scenario() -> None:
        gate = asyncio.Event()

        async def blocked(message: Message) -> None:
            started.append(message.id)
            await gate.wait()

        consumer = aio.Consumer(
            queue_name,
            "g",
            blocked,
            redis_url,
            concurrency=2,
            batch_size=10,
            shutdown_timeout=0.3,
            block_ms=100,
        )
        runs = asyncio.create_task(consumer.run())
        while len(started) < 2:
            await asyncio.sleep(0.01)
        consumer.stop()
        await asyncio.wait_for(runs, 10)
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        gate.set()
        await consumer.close()
        assert left == [], "tasks of the consumer still run after run() returned"

    asyncio.run(scenario())
    assert len(started) == 2
    assert {p.id for p in manager.pending(queue_name, "g")} == set(ids)
