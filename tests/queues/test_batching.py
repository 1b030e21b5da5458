"""Adaptive batches (queues/batching.py): without a batch_size a consumer sizes each read from
the handler time it measures — large for fast handlers, small for slow ones — so that slow
work stays spread over the consumers of a group. An explicit batch_size fixes it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from queues.batching import MAXIMUM, START, BatchSizer
from tests.queues.conftest import FAST, Recorder, wait_for
from tests.queues.test_twins import Twin


@pytest.fixture(params=["sync", "aio"])
def twin(request: pytest.FixtureRequest) -> Iterator[Twin]:
    t = Twin(request.param)
    yield t
    t.close()


def test_full_reads_of_fast_handlers_double_the_batch_up_to_the_maximum() -> None:
    sizer = BatchSizer(None, maximum=80, target=0.05)
    assert sizer.size == START
    for expected in (20, 40, 80, 80):
        sizer.handled(sizer.size, 0.0001)
        sizer.read(sizer.size, sizer.size)
        assert sizer.size == expected


def test_a_short_read_or_a_read_of_less_than_the_batch_does_not_grow_it() -> None:
    sizer = BatchSizer(None)
    sizer.read(START, START - 1)  # the stream ran dry: a larger read would not help
    sizer.read(3, 3)  # asked for less than a batch (little room): says nothing
    assert sizer.size == START


def test_it_does_not_grow_before_a_handler_was_timed() -> None:
    sizer = BatchSizer(None)
    sizer.read(START, START)  # the read-ahead's read: nothing handled yet, handlers may be slow
    assert sizer.size == START


def test_it_does_not_grow_past_what_fits_the_target() -> None:
    sizer = BatchSizer(None, target=0.05)
    sizer.handled(10, 0.03)  # 3 ms a message: 20 would take 60 ms
    sizer.read(10, 10)
    assert sizer.size == 10


def test_slow_handlers_shrink_the_batch_to_what_fits_the_target() -> None:
    sizer = BatchSizer(None, target=0.05)
    sizer.handled(10, 0.5)  # 50 ms a message
    assert sizer.size == 1
    sizer = BatchSizer(None, target=0.05, concurrency=4)
    sizer.handled(10, 0.1)  # 10 ms a message, four at a time: 20 fit in 50 ms
    assert sizer.size == 10  # never grows on a measurement alone: only after a full read
    sizer.handled(10, 1.0)
    assert 1 <= sizer.size < 10


def test_an_explicit_batch_size_never_changes() -> None:
    sizer = BatchSizer(7)
    sizer.handled(7, 10.0)
    sizer.read(7, 7)
    sizer.handled(7, 0.0)
    sizer.read(7, 7)
    assert sizer.size == 7 and not sizer.adaptive


def test_a_consumer_with_defaults_grows_its_batch_on_fast_handlers(
    twin: Twin, redis_url: str, queue_name: str
) -> None:
    producer = twin.make("Producer", queue_name, redis_url)
    twin.call(producer.publish_many([{"n": n} for n in range(3000)]))
    recorder = Recorder()
    consumer = twin.make("Consumer", queue_name, "g", recorder, redis_url, **FAST)
    assert consumer.batch_size == START
    twin.burst(consumer)
    assert recorder.count == 3000 and max(recorder.ids().values()) == 1
    assert START < consumer.batch_size <= MAXIMUM
    fixed = twin.make("Consumer", queue_name, "g2", recorder, redis_url, batch_size=5, **FAST)
    twin.burst(fixed)
    assert fixed.batch_size == 5


def test_two_consumers_with_slow_handlers_share_the_work_of_their_group(
    twin: Twin, redis_url: str, queue_name: str
) -> None:
    """200 messages of 50 ms each, two consumers with adaptive batches: neither hoards."""
    producer = twin.make("Producer", queue_name, redis_url)
    ids = twin.call(producer.publish_many([{"n": n} for n in range(200)]))
    recorders = {name: Recorder() for name in ("A", "B")}
    consumers = []
    for name, recorder in recorders.items():
        if twin.kind == "aio":

            async def handle(message: object, recorder: Recorder = recorder) -> None:
                recorder(message)  # type: ignore[arg-type]
                await asyncio.sleep(0.05)

        else:

            def handle(message: object, recorder: Recorder = recorder) -> None:  # type: ignore[misc]
                recorder(message)  # type: ignore[arg-type]
                time.sleep(0.05)

        consumers.append(
            twin.make("Consumer", queue_name, "g", handle, redis_url, name=name, **FAST)
        )
    for consumer in consumers:
        twin.start(consumer)
    total = lambda: sum(r.count for r in recorders.values())  # noqa: E731
    wait_for(lambda: total() >= 200, 60, message="all 200 handled")
    twin.stop_all()
    seen = recorders["A"].ids() + recorders["B"].ids()
    assert sorted(seen) == sorted(ids) and max(seen.values()) == 1
    shares = sorted(r.count for r in recorders.values())
    assert shares[0] >= 80 and shares[1] <= 120, f"split {shares} is not within 40/60"
    # the batches shrank to what fits the target, so neither consumer held a long queue
    assert all(c.batch_size <= 2 for c in consumers), [c.batch_size for c in consumers]
