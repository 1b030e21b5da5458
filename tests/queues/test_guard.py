"""Consumer(guard=True): a processing token per (group, message id) keeps two live consumers
from running the same message at the same time (queues/guard.py)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import redis

from queues import Consumer, Manager, Message, Producer, aio
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Recorder, Runner
from tests.support.redis_process import wait_for


def test_a_message_claimed_from_a_live_slow_consumer_is_not_run_by_the_claimer(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager, runner: Runner
) -> None:
    release = threading.Event()
    slow_calls: list[str] = []

    def slow(message: Message) -> None:
        slow_calls.append(message.id)
        release.wait(10)

    # handler_timeout lets its message go (the heartbeat stops keeping it fresh), as a stall
    # would; the token, refreshed while the handler runs, still says it is running
    runner.start(
        Consumer(
            queue_name,
            "g",
            slow,
            redis_url,
            name="slow",
            claim_idle=0.3,
            handler_timeout=0.3,
            guard=True,
            **FAST,
        )
    )
    entry_id = producer.publish("x")
    wait_for(lambda: slow_calls, 5, message="slow handler started")
    claimer = Recorder()
    other = runner.start(
        Consumer(
            queue_name,
            "g",
            claimer,
            redis_url,
            name="claimer",
            claim_idle=0.3,
            claim_interval=0.05,
            guard=True,
            **FAST,
        )
    )
    # claimed again and again (every claim_idle): each time skipped and handed back
    wait_for(lambda: other.stats.duplicates >= 6, 10, message="claimed, skipped six times")
    assert claimer.count == 0, "the claimer ran a message whose handler was still running"
    release.set()
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 10, message="acked")
    assert slow_calls == [entry_id] and claimer.count == 0
    info = manager.info(queue_name)
    assert info.dead == 0, "handed back with its delivery count: never dead-lettered for it"
    assert info.group("g").duplicates == other.stats.duplicates


def test_the_token_of_a_dead_holder_expires_and_the_message_then_runs_once(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    runner: Runner,
) -> None:
    entry_id = producer.publish("x")
    manager.create_group(queue_name, "g", start="0")
    redis_client.xreadgroup("g", "dead", {queue_keys(queue_name).stream: ">"})
    # the consumer died while its handler ran: its token outlives it by its time to live
    expires_at = time.monotonic() + 0.8
    redis_client.set(queue_keys(queue_name).processing("g", entry_id), "0000:dead", px=800)
    recorder = Recorder()
    consumer = runner.start(
        Consumer(
            queue_name,
            "g",
            recorder,
            redis_url,
            claim_idle=0.1,
            claim_interval=0.05,
            guard=True,
            **FAST,
        )
    )
    wait_for(lambda: recorder.count == 1, 10, message="run once the token expired")
    assert recorder.times[0] >= expires_at
    assert consumer.stats.duplicates >= 1 and recorder.ids() == {entry_id: 1}
    assert recorder.messages[0].deliveries == 2, "the skipped claims did not count"
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 5, message="acked")


def test_guard_is_refused_in_ordered_mode(redis_url: str, queue_name: str) -> None:
    with pytest.raises(ValueError, match="guard=True cannot be combined with ordered=True"):
        Consumer(queue_name, "g", lambda m: None, redis_url, ordered=True, guard=True)


def test_tokens_are_released_when_handlers_return_or_raise(
    redis_url: str, queue_name: str, producer: Producer, redis_client: redis.Redis
) -> None:
    producer.publish_many(list(range(20)))

    def handler(message: Message) -> None:
        if message.payload % 5 == 0:
            raise ValueError("fails, retried later")

    consumer = Consumer(
        queue_name, "g", handler, redis_url, guard=True, handle_signals=False, **FAST
    )
    consumer.run(burst=True)
    assert consumer.stats.processed == 16 and consumer.stats.failed == 4
    assert redis_client.keys("*:processing:*") == []


async def test_the_asyncio_twin_waits_for_a_live_token_too(
    redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    entry_id = Producer(queue_name, redis=redis_url).publish("x")
    Manager(redis=redis_url).create_group(queue_name, "g", start="0")
    redis_client.xreadgroup("g", "dead", {queue_keys(queue_name).stream: ">"})
    token = queue_keys(queue_name).processing("g", entry_id)
    redis_client.set(token, "0000:dead", px=60_000)
    calls: list[str] = []

    async def handle(message: Message) -> None:
        calls.append(message.id)

    consumer = aio.Consumer(queue_name, "g", handle, redis_url, claim_idle=0.05, guard=True, **FAST)
    await asyncio.sleep(0.1)  # the entry is idle long enough to be claimed
    await consumer.run(burst=True)
    assert calls == [] and consumer.stats.duplicates == 1
    redis_client.delete(token)  # the holder released it (or it expired)
    await asyncio.sleep(0.1)
    await consumer.run(burst=True)
    assert calls == [entry_id]
    assert (await aio.Manager(redis=redis_url).info(queue_name)).group("g").pending == 0
    assert redis_client.exists(token) == 0
