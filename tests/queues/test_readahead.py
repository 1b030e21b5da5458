"""Read-ahead (concurrency=1): the next batch is read while the current one is handled. It
must not cost anything the consumer promises: what it delivered is held like in-flight
work (kept fresh, handled before stopping) and nothing is lost when its reply is."""

from __future__ import annotations

import threading
import time

import redis

from queues import Consumer, Manager, Message, Producer
from tests.queues.conftest import FAST, Recorder, Runner, start_thief, wait_for


def test_it_is_on_for_one_inline_consumer_and_off_where_it_would_reorder_work(
    redis_url: str, queue_name: str
) -> None:
    def make(**options: object) -> Consumer:
        return Consumer(queue_name, "g", lambda m: None, redis_url, **options)  # type: ignore[arg-type]

    assert make().read_ahead
    assert not make(read_ahead=False).read_ahead
    assert not make(concurrency=4).read_ahead  # workers: the queue hand-off already overlaps
    assert not make(ordered=True).read_ahead  # a retried entry must come before newer ones
    assert not make(priorities=3).read_ahead  # a new urgent entry must not wait a batch


def test_entries_read_ahead_during_a_slow_batch_are_kept_fresh_and_not_claimed(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager, runner: Runner
) -> None:
    claim_idle = 0.6
    handled = Recorder()

    def slow(message: Message) -> None:
        handled(message)
        time.sleep(0.15)  # a batch of 5 takes 0.75 s: longer than claim_idle

    ids = producer.publish_many([{"n": i} for i in range(10)])
    runner.start(
        Consumer(
            queue_name,
            "g",
            slow,
            redis_url,
            name="slow",
            claim_idle=claim_idle,
            batch_size=5,
            **FAST,
        )
    )
    # the first batch is in hand and the second one was read ahead: all ten are delivered
    wait_for(lambda: manager.info(queue_name).group("g").lag == 0, 5, message="read ahead")
    thief = start_thief(runner, queue_name, redis_url, claim_idle)
    wait_for(lambda: handled.count == 10, 10, message="slow consumer handled both batches")
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 5, message="acked")
    assert sorted(handled.ids()) == sorted(ids)
    assert max(handled.ids().values()) == 1
    assert thief.count == 0, "an entry read ahead went idle and was claimed"


def test_stop_handles_what_the_read_ahead_delivered_and_leaves_nothing_pending(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager, runner: Runner
) -> None:
    ids = producer.publish_many([{"n": i} for i in range(25)])
    handled = Recorder()
    consumer: Consumer

    def stop_at_once(message: Message) -> None:
        handled(message)
        consumer.stop()

    consumer = runner.start(
        Consumer(queue_name, "g", stop_at_once, redis_url, batch_size=10, **FAST)
    )
    wait_for(lambda: not consumer.running and handled.count > 0, 10, message="stopped")
    group = manager.info(queue_name).group("g")
    assert group.pending == 0, "entries read ahead were left pending"
    assert handled.count == 20, "the batch in hand and the one read ahead"
    assert list(handled.ids()) == ids[:20]
    assert group.lag == 5


def test_connections_killed_while_a_read_ahead_is_in_flight_lose_nothing(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    runner: Runner,
) -> None:
    ids = producer.publish_many([{"n": i} for i in range(300)])
    handled = Recorder()

    def handle(message: Message) -> None:
        handled(message)
        if handled.count in (15, 95, 175):
            # mid-batch: the read-ahead of the next batch is in flight on its own connection
            redis_client.client_kill_filter(_type="normal", skipme=True)

    runner.start(
        Consumer(queue_name, "g", handle, redis_url, claim_idle=0.5, batch_size=20, **FAST)
    )
    wait_for(lambda: set(handled.ids()) == set(ids), 20, message="every entry handled")
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 10, message="acked")
    assert set(handled.ids()) == set(ids)


def test_entries_read_ahead_behind_a_handler_stuck_past_handler_timeout_are_rescued(
    redis_url: str, queue_name: str, producer: Producer, runner: Runner
) -> None:
    release = threading.Event()
    started = threading.Event()

    def stuck_on_the_first(message: Message) -> None:
        if not started.is_set():
            started.set()
            release.wait(15)

    ids = producer.publish_many([{"n": i} for i in range(10)])
    runner.start(
        Consumer(
            queue_name,
            "g",
            stuck_on_the_first,
            redis_url,
            name="stuck",
            claim_idle=0.3,
            handler_timeout=0.5,
            batch_size=5,
            **FAST,
        )
    )
    assert started.wait(5), "stuck handler started"
    rescuer = Recorder()
    runner.start(Consumer(queue_name, "g", rescuer, redis_url, claim_idle=0.3, **FAST))
    try:
        # the batch in hand (1 stuck + 4 behind it) and the 5 read ahead: all rescued
        wait_for(lambda: set(rescuer.ids()) == set(ids), 10, message="all ten rescued")
    finally:
        release.set()
