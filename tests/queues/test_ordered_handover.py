"""Ordered mode hands the group over safely: a handler stuck past handler_timeout lets the
lock go, and a consumer that lost the lock starts no further handler. On queues.Consumer
and queues.aio's (whose stuck handler is cancelled at handler_timeout as well)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import pytest
import redis

from queues import Message, Producer
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Recorder, wait_for
from tests.queues.test_twins import Twin


@pytest.fixture(params=["sync", "aio"])
def twin(request: pytest.FixtureRequest) -> Iterator[Twin]:
    t = Twin(request.param)
    yield t
    t.close()


def stuck_on_first(calls: list[object], release: threading.Event) -> Callable[[Message], None]:
    def handle(message: Message) -> None:
        calls.append(message.payload)
        if message.payload == 0:
            release.wait(15)

    return handle


def test_an_ordered_handler_stuck_past_handler_timeout_lets_a_successor_take_over(
    twin: Twin, redis_url: str, queue_name: str, producer: Producer
) -> None:
    release = threading.Event()
    calls: list[object] = []
    producer.publish_many(list(range(5)))
    twin.start(
        twin.make(
            "Consumer",
            queue_name,
            "g",
            twin.blocking(stuck_on_first(calls, release)),
            redis_url,
            name="first",
            ordered=True,
            claim_idle=0.6,
            handler_timeout=0.5,
            **FAST,
        )
    )
    wait_for(lambda: calls == [0], 10, message="the first handler is stuck")
    successor = Recorder()
    twin.start(
        twin.make(
            "Consumer",
            queue_name,
            "g",
            successor,
            redis_url,
            name="second",
            ordered=True,
            claim_idle=0.6,
            **FAST,
        )
    )
    try:
        wait_for(lambda: successor.payloads() == [0, 1, 2, 3, 4], 10, message="taken over")
    finally:
        release.set()
    twin.stop_all()
    assert calls == [0], "the stuck consumer started nothing after losing the group"


def test_an_ordered_consumer_that_lost_its_lock_starts_no_further_handler(
    twin: Twin,
    redis_url: str,
    queue_name: str,
    producer: Producer,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="queues")
    release = threading.Event()
    calls: list[object] = []
    producer.publish_many(list(range(5)))
    twin.start(
        twin.make(
            "Consumer",
            queue_name,
            "g",
            twin.blocking(stuck_on_first(calls, release)),
            redis_url,
            name="first",
            ordered=True,
            claim_idle=0.6,
            **FAST,
        )
    )
    wait_for(lambda: calls == [0], 10, message="the first handler runs")
    # another process took the group (as after a stall longer than lock_ttl)
    redis_client.set(queue_keys(queue_name).ordered_lock("g"), "intruder", px=30_000)
    wait_for(lambda: "lost the lock" in caplog.text, 5, message="the loss noticed")
    release.set()
    twin.stop_all()
    assert calls == [0], "no handler ran beside the new holder"
