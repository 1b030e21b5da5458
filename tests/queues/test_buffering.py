"""Producer buffer mode: publishes made while Redis is down are held in order and flushed
when it returns; a full buffer and an unflushable close() are loud."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from queues import BufferFull, Producer, QueueUnavailable, UnflushedMessages
from queues.keys import queue_keys
from tests.queues.conftest import wait_for
from tests.redis_process import RedisServer


@pytest.mark.chaos
def test_a_three_second_outage_during_a_thousand_publishes_loses_and_reorders_nothing(
    make_redis_server: Callable[..., RedisServer], queue_name: str
) -> None:
    server = make_redis_server(appendonly=True)  # what was in before the stop stays
    producer = Producer(queue_name, redis=server.url, on_unavailable="buffer", buffer_size=2_000)
    outage = threading.Event()

    def stop_for_three_seconds() -> None:
        server.stop()
        outage.set()
        time.sleep(3.0)  # the outage itself, not a wait for a condition
        server.start()

    ids = []
    for n in range(1_000):
        if n == 300:
            threading.Thread(target=stop_for_three_seconds, daemon=True).start()
            wait_for(outage.is_set, 10, message="Redis stopped")
        ids.append(producer.publish({"n": n}))
        time.sleep(0.004)  # spread the publishes over the outage
    buffered = [i for i in ids if i.startswith("buffered:")]
    print(f"\n{len(buffered)} of 1 000 publishes were buffered during the outage")
    assert 300 <= len(ids) - len(buffered) < 1_000 and buffered, "some went to the buffer"

    producer.close(timeout=20)  # flushes, or raises
    client = server.client()
    wait_for(lambda: client.xlen(queue_keys(queue_name).stream) >= 1_000, 10, message="flushed")
    payloads = [fields[b"payload"] for _, fields in client.xrange(queue_keys(queue_name).stream)]
    assert payloads == [f'{{"n":{n}}}'.encode() for n in range(1_000)], "all, once, in order"


def test_a_full_buffer_raises_and_close_reports_what_is_left(
    private_redis: RedisServer, queue_name: str
) -> None:
    producer = Producer(queue_name, redis=private_redis.url, on_unavailable="buffer", buffer_size=5)
    private_redis.stop()
    for n in range(5):
        assert producer.publish(n).startswith("buffered:")
    with pytest.raises(BufferFull, match="buffer is full") as info:
        producer.publish(5)
    assert isinstance(info.value, QueueUnavailable) and producer.buffered == 5
    with pytest.raises(BufferFull):
        producer.publish_many([6, 7])  # all or none
    with pytest.raises(UnflushedMessages, match="5 buffered messages") as left:
        producer.close(timeout=0.3)
    assert left.value.count == 5


def test_the_default_still_raises(private_redis: RedisServer, queue_name: str) -> None:
    producer = Producer(queue_name, redis=private_redis.url)
    private_redis.stop()
    with pytest.raises(QueueUnavailable):
        producer.publish(1)
    assert producer.buffered == 0
