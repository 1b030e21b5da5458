"""Read-ahead (concurrency=1): the next batch is read while the current one is handled. It
must not cost anything the consumer promises: what it delivered is held like in-flight
work (kept fresh, handled before stopping) and nothing is lost when its reply is. On
queues.Consumer (a read sent on a held connection) and queues.aio's (the loop reads while a
task handles the batch in hand)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from queues import Manager, Message, Producer
from tests.queues.conftest import FAST, Recorder, Runner, start_thief, wait_for
from tests.queues.test_twins import Twin


@pytest.fixture(params=["sync", "aio"])
def twin(request: pytest.FixtureRequest) -> Iterator[Twin]:
    t = Twin(request.param)
    yield t
    t.close()


def test_it_is_on_for_one_inline_consumer_and_off_where_it_would_reorder_work(
    twin: Twin, redis_url: str, queue_name: str
) -> None:
    def make(**options: object) -> Any:
        return twin.make("Consumer", queue_name, "g", lambda m: None, redis_url, **options)

    assert make().read_ahead
    assert not make(read_ahead=False).read_ahead
    assert not make(concurrency=4).read_ahead  # workers: the queue hand-off already overlaps
    assert not make(ordered=True).read_ahead  # a retried entry must come before newer ones
    assert not make(priorities=3).read_ahead  # a new urgent entry must not wait a batch
    assert not make(level=2).read_ahead


def test_without_read_ahead_the_next_batch_is_read_once_the_one_in_hand_is_handled(
    twin: Twin, redis_url: str, queue_name: str, producer: Producer, manager: Manager
) -> None:
    release = threading.Event()
    started = threading.Event()

    def held(message: Message) -> None:
        started.set()
        release.wait(10)

    producer.publish_many([{"n": i} for i in range(10)])
    for read_ahead, delivered in ((False, 5), (True, 10)):
        group = f"g{int(read_ahead)}"
        started.clear()
        release.clear()
        twin.start(
            twin.make(
                "Consumer",
                queue_name,
                group,
                twin.blocking(held),
                redis_url,
                batch_size=5,
                read_ahead=read_ahead,
                **FAST,
            )
        )
        assert started.wait(5), "a handler runs"
        wait_for(
            lambda g=group, n=delivered: manager.info(queue_name).group(g).pending == n,  # type: ignore[misc]
            5,
            message=f"read_ahead={read_ahead} holds {delivered}",
        )
        time.sleep(0.3)  # FAST reads block 100 ms: no further read went out meanwhile
        assert manager.info(queue_name).group(group).pending == delivered
        release.set()
        twin.stop_all()


def test_entries_read_ahead_during_a_slow_batch_are_kept_fresh_and_not_claimed(
    twin: Twin,
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    runner: Runner,
) -> None:
    claim_idle = 0.6
    handled = Recorder()

    def slow(message: Message) -> None:
        handled(message)
        time.sleep(0.15)  # a batch of 5 takes 0.75 s: longer than claim_idle

    ids = producer.publish_many([{"n": i} for i in range(10)])
    twin.start(
        twin.make(
            "Consumer",
            queue_name,
            "g",
            twin.blocking(slow),
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
    twin: Twin, redis_url: str, queue_name: str, producer: Producer, manager: Manager
) -> None:
    ids = producer.publish_many([{"n": i} for i in range(25)])
    handled = Recorder()
    consumer: Any

    def stop_at_once(message: Message) -> None:
        handled(message)
        consumer.stop()  # a plain handler: on the loop thread of the asyncio twin

    consumer = twin.make(
        "Consumer", queue_name, "g", stop_at_once, redis_url, batch_size=10, **FAST
    )
    twin.start(consumer)
    wait_for(lambda: not consumer.running and handled.count > 0, 10, message="stopped")
    group = manager.info(queue_name).group("g")
    assert group.pending == 0, "entries read ahead were left pending"
    assert handled.count == 20, "the batch in hand and the one read ahead"
    assert list(handled.ids()) == ids[:20]
    assert group.lag == 5


def test_connections_killed_while_a_read_ahead_is_in_flight_lose_nothing(
    twin: Twin,
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
) -> None:
    ids = producer.publish_many([{"n": i} for i in range(300)])
    handled = Recorder()

    def handle(message: Message) -> None:
        handled(message)
        if handled.count in (15, 95, 175):
            # mid-batch: the read-ahead of the next batch is in flight on its own connection
            redis_client.client_kill_filter(_type="normal", skipme=True)

    twin.start(
        twin.make(
            "Consumer", queue_name, "g", handle, redis_url, claim_idle=0.5, batch_size=20, **FAST
        )
    )
    wait_for(lambda: set(handled.ids()) == set(ids), 20, message="every entry handled")
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 10, message="acked")
    assert set(handled.ids()) == set(ids)


def test_entries_read_ahead_behind_a_handler_stuck_past_handler_timeout_are_rescued(
    twin: Twin, redis_url: str, queue_name: str, producer: Producer, manager: Manager
) -> None:
    release = threading.Event()
    started = threading.Event()
    stuck = Recorder()

    def stuck_on_the_first(message: Message) -> None:
        if not started.is_set():
            started.set()
            release.wait(15)
            return
        stuck(message)

    ids = producer.publish_many([{"n": i} for i in range(10)])
    twin.start(
        twin.make(
            "Consumer",
            queue_name,
            "g",
            twin.blocking(stuck_on_the_first),
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
    twin.start(twin.make("Consumer", queue_name, "g", rescuer, redis_url, claim_idle=0.3, **FAST))
    try:
        if twin.kind == "sync":
            # the batch in hand (1 stuck + 4 behind it) and the 5 read ahead: all rescued
            wait_for(lambda: set(rescuer.ids()) == set(ids), 10, message="all ten rescued")
        else:
            # the stuck handler is cancelled: its consumer goes on with the other nine, and
            # the stuck entry, let go, is claimed (by the rescuer or itself) and handled again
            wait_for(
                lambda: set(rescuer.ids()) | set(stuck.ids()) == set(ids),
                10,
                message="all ten handled",
            )
            assert set(stuck.ids()) >= set(ids[1:]), "the others were not let go"
            again = [m for m in rescuer.messages + stuck.messages if m.id == ids[0]]
            assert [m.deliveries for m in again] == [2], "the stuck one, once more, elsewhere"
        wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 5, message="acked")
    finally:
        release.set()
