"""handler_timeout counts from when a handler starts: entries waiting their turn (the rest
of the batch, the read-ahead, the work queue of worker threads) stay fresh meanwhile."""

from __future__ import annotations

import time

import pytest

from queues import Consumer, Manager, Message, Producer
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Recorder, Runner, start_thief, wait_for


@pytest.mark.parametrize(
    ("concurrency", "count", "seconds"),
    [
        (1, 20, 0.2),  # a batch of 10 and 10 read ahead, one handler at a time
        (2, 10, 0.4),  # 10 held, 2 worker threads
    ],
)
def test_entries_waiting_behind_slow_handlers_are_not_claimed(
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
    runner.start(
        Consumer(
            queue_name,
            "g",
            slow,
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
