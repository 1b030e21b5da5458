"""handler_timeout counts from when a handler starts: entries waiting their turn (the rest
of the batch, the read-ahead, the work queue of worker threads) stay fresh meanwhile; a
handler past it lets its entry go for another consumer. On queues.Consumer and queues.aio's
(which also cancels the handler)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from queues import Manager, Message, Producer
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Recorder, Runner, start_thief, wait_for
from tests.queues.test_twins import Twin


@pytest.fixture(params=["sync", "aio"])
def twin(request: pytest.FixtureRequest) -> Iterator[Twin]:
    t = Twin(request.param)
    yield t
    t.close()


@pytest.mark.parametrize(
    ("concurrency", "count", "seconds"),
    [
        (1, 20, 0.2),  # a batch of 10 and 10 read ahead, one handler at a time
        (2, 10, 0.4),  # 10 held, 2 worker threads
    ],
)
def test_entries_waiting_behind_slow_handlers_are_not_claimed(
    twin: Twin,
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    runner: Runner,
    concurrency: int,
    count: int,
    seconds: float,
) -> None:
    # each handler well within handler_timeout, but the last of them start seconds after
    # their entries were read
    handled = Recorder()

    def slow(message: Message) -> None:
        handled(message)
        time.sleep(seconds)

    ids = producer.publish_many([{"n": i} for i in range(count)])
    twin.start(
        twin.make(
            "Consumer",
            queue_name,
            "g",
            twin.blocking(slow),
            redis_url,
            name="slow",
            claim_idle=0.6,
            handler_timeout=0.8,
            batch_size=10,
            concurrency=concurrency,
            **FAST,
        )
    )
    stream = queue_keys(queue_name).stream
    wait_for(
        lambda: manager.client.xpending(stream, "g")["pending"] == count,
        10,
        message="the slow consumer holds a batch",
    )
    thief = start_thief(runner, queue_name, redis_url, claim_idle=0.6)
    wait_for(lambda: len(set(handled.ids()) | set(thief.ids())) == count, 30, message="all handled")
    assert thief.count == 0, f"claimed from a live consumer: {sorted(thief.ids())}"
    assert handled.ids() == {entry_id: 1 for entry_id in ids}


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_handler_stuck_past_handler_timeout_lets_its_entry_go_to_another_consumer(
    twin: Twin,
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    concurrency: int,
) -> None:
    release = threading.Event()
    first = Recorder()

    def stuck_on_a(message: Message) -> None:
        first(message)
        if message.payload == "a":
            release.wait(15)

    a, b = producer.publish_many(["a", "b"])
    twin.start(
        twin.make(
            "Consumer",
            queue_name,
            "g",
            twin.blocking(stuck_on_a),
            redis_url,
            name="stuck",
            claim_idle=0.4,
            claim_interval=30.0,  # the rescuer claims, not this one
            handler_timeout=0.3,
            concurrency=concurrency,
            **FAST,
        )
    )
    wait_for(lambda: a in first.ids(), 5, message="a's handler started")
    started = time.monotonic()
    rescuer = Recorder()
    twin.start(
        twin.make(
            "Consumer",
            queue_name,
            "g",
            rescuer,
            redis_url,
            name="rescuer",
            claim_idle=0.4,
            claim_interval=0.05,
            **FAST,
        )
    )
    # kept fresh while within handler_timeout, let go after it: claimable after claim_idle
    try:
        wait_for(lambda: a in rescuer.ids(), 10, message="a rescued")
    finally:
        release.set()
    assert time.monotonic() - started >= 0.3, "not before handler_timeout"
    assert [m.deliveries for m in rescuer.messages if m.id == a] == [2]
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 5, message="acked")
    assert first.ids()[a] == 1, "the stuck consumer did not run it again"
    if twin.kind == "aio" or concurrency > 1:
        # a free handler slot (the asyncio twin cancelled the stuck handler) handled b
        assert (first.ids()[b], rescuer.ids()[b]) == (1, 0)
    else:
        # b waited behind the only slot, stuck: let go with it (queues/freshness.py)
        wait_for(lambda: b in rescuer.ids(), 5, message="b rescued")


def test_entries_waiting_behind_handlers_all_stuck_are_let_go_with_them() -> None:
    from queues.freshness import to_refresh

    held = {"running": 9.5, "stuck": 1.0, "queued": None}
    # one slot of two still works: the queued entry will be reached, keep it
    assert to_refresh(held, ["ahead"], now=10.0, handler_timeout=2.0, slots=2) == (
        ["running", "queued", "ahead"],
        1,
        0,
    )
    # the only slot is stuck: nothing here will reach the queued ones
    held = {"stuck": 1.0, "queued": None}
    assert to_refresh(held, ["ahead"], now=10.0, handler_timeout=2.0, slots=1) == ([], 1, 2)
    assert to_refresh(held, ["ahead"], now=10.0, handler_timeout=None, slots=1).ids == [
        "stuck",
        "queued",
        "ahead",
    ]
