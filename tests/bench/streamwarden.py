"""StreamWarden as a benchmark contender: Producer.publish_many and a burst Consumer."""

from __future__ import annotations

import asyncio

from queues import Consumer, Manager, Message, Producer, aio
from tests.bench.contenders import BATCH, Contender


def sw_produce(url: str, queue: str, payloads: list[dict]) -> None:
    Manager(redis=url).create_group(queue, "bench", start="0")
    producer = Producer(queue, redis=url)
    for start in range(0, len(payloads), BATCH * 10):
        producer.publish_many(payloads[start : start + BATCH * 10])
    producer.close()


def _noop(message: Message) -> None:
    return None


def _consume(concurrency: int, read_ahead: bool = True, batch_size: int | None = BATCH):
    def consume(url: str, queue: str, n: int) -> None:
        consumer = Consumer(
            queue,
            "bench",
            _noop,
            url,
            batch_size=batch_size,
            concurrency=concurrency,
            read_ahead=read_ahead,
            handle_signals=False,
        )
        consumer.run(burst=True)
        _check_drained(url, queue)

    return consume


def _check_drained(url: str, queue: str) -> None:
    info = Manager(redis=url).info(queue)
    group = next(g for g in info.groups if g.name == "bench")
    assert group.pending == 0 and group.lag == 0, (group.pending, group.lag)


def _consume_async(**options: int):
    def consume(url: str, queue: str, n: int) -> None:
        async def main() -> None:
            consumer = aio.Consumer(queue, "bench", _noop, url, **options)
            await consumer.run(burst=True)
            await consumer.close()

        asyncio.run(main())
        _check_drained(url, queue)

    return consume


STREAMWARDEN_ASYNC = [
    Contender(
        "StreamWarden aio.Consumer, defaults",
        sw_produce,
        _consume_async(),
        asyncio=True,
    ),
    Contender(
        "StreamWarden aio.Consumer (batch 100)",
        sw_produce,
        _consume_async(batch_size=BATCH),
        asyncio=True,
    ),
    Contender(
        "StreamWarden aio.Consumer concurrency=10",
        sw_produce,
        _consume_async(concurrency=10),
        "one task per message",
        asyncio=True,
    ),
]

STREAMWARDEN = [
    Contender(
        "StreamWarden Consumer, defaults",
        sw_produce,
        _consume(1, batch_size=None),
        "batch sized from the measured handler time",
    ),
    Contender("StreamWarden Producer.publish_many / Consumer (batch 100)", sw_produce, _consume(1)),
    Contender(
        "StreamWarden, Consumer read_ahead=False",
        sw_produce,
        _consume(1, read_ahead=False),
        "one round trip per batch, not overlapped with the handler",
    ),
    Contender(
        "StreamWarden, Consumer concurrency=4",
        sw_produce,
        _consume(4),
        "handler threads; pays off when handlers do I/O",
    ),
]
