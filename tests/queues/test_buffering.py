"""Producer buffer mode: publishes made while Redis is down are held in order and flushed
when it returns; a full buffer and an unflushable close() are loud."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import redis

from queues import BufferFull, NotDurable, Producer, QueueUnavailable, UnflushedMessages
from queues.keys import queue_keys
from tests.queues.conftest import wait_for
from tests.support.redis_process import RedisServer


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


def _refused(client: redis.Redis, error: str = "OOM") -> int:
    """How many commands the server has refused with ``error`` (INFO errorstats)."""
    stat = client.info("errorstats").get(f"errorstat_{error}", {})
    if isinstance(stat, str):  # redis-py < 5.1 leaves "count=N" unparsed
        stat = dict(part.split("=", 1) for part in stat.split(","))
    return int(stat.get("count", 0))


def _payloads(client: redis.Redis, queue: str) -> list[bytes]:
    return [fields[b"payload"] for _, fields in client.xrange(queue_keys(queue).stream)]


def test_a_redis_that_refuses_writes_keeps_the_buffer_with_backoff_and_says_why(
    private_redis: RedisServer, queue_name: str
) -> None:
    producer = Producer(queue_name, redis=private_redis.url, on_unavailable="buffer")
    private_redis.stop()
    assert all(producer.publish({"n": n}).startswith("buffered:") for n in range(5))
    # Redis comes back answering but refusing every write (OOM under noeviction)
    private_redis.extra_args = ("--maxmemory", "1", "--maxmemory-policy", "noeviction")
    private_redis.start()
    client = private_redis.client()
    wait_for(lambda: _refused(client) >= 1, 10, message="the flusher tried and was refused")
    refused_then = _refused(client)
    time.sleep(1.0)  # a measuring window: how often the flusher tries while refused
    assert producer.buffered == 5, "refused messages stay buffered"
    assert _refused(client) - refused_then <= 10, "retried with backoff, not in a loop"
    assert producer.last_error is not None and "maxmemory" in str(producer.last_error)

    client.config_set("maxmemory", 0)  # the refusal ends: everything lands, once, in order
    wait_for(lambda: producer.buffered == 0, 10, message="flushed")
    assert _payloads(client, queue_name) == [f'{{"n":{n}}}'.encode() for n in range(5)]
    assert producer.last_error is None
    producer.close()


def test_close_raises_unflushed_messages_while_redis_refuses_writes(
    private_redis: RedisServer, queue_name: str
) -> None:
    producer = Producer(queue_name, redis=private_redis.url, on_unavailable="buffer")
    private_redis.stop()
    for n in range(3):
        producer.publish(n)
    private_redis.extra_args = ("--maxmemory", "1", "--maxmemory-policy", "noeviction")
    private_redis.start()
    client = private_redis.client()
    wait_for(lambda: _refused(client) >= 1, 10, message="the flusher was refused")
    with pytest.raises(UnflushedMessages, match="3 buffered messages.*maxmemory") as left:
        producer.close(timeout=0.5)
    assert left.value.count == 3 and "maxmemory" in str(left.value.last_error)
    assert client.xlen(queue_keys(queue_name).stream) == 0


def test_a_durable_flush_that_replicas_do_not_confirm_sends_nothing_twice(
    private_redis: RedisServer, queue_name: str
) -> None:
    # no replica at all: every WAIT answers 0, every flush is NotDurable
    producer = Producer(
        queue_name,
        redis=private_redis.url,
        on_unavailable="buffer",
        durable=True,
        durable_timeout=0.05,
    )
    private_redis.stop()
    for n in range(5):
        producer.publish({"n": n})
    producer.publish({"n": 5}, dedup_key="five")  # flushed on its own, by the script
    private_redis.start()
    wait_for(lambda: producer.buffered == 0, 10, message="flushed")
    client = private_redis.client()
    assert _payloads(client, queue_name) == [f'{{"n":{n}}}'.encode() for n in range(6)]
    assert isinstance(producer.last_error, NotDurable)
    producer.close()


def test_a_chunk_redis_would_accept_only_in_part_lands_whole_once_and_in_order(
    private_redis: RedisServer, queue_name: str
) -> None:
    producer = Producer(queue_name, redis=private_redis.url, on_unavailable="buffer")
    private_redis.stop()
    big = "x" * 100_000
    for n in range(20):
        producer.publish({"n": n, "pad": big})
    private_redis.extra_args = ("--maxmemory", "1", "--maxmemory-policy", "noeviction")
    private_redis.start()
    client = private_redis.client()
    wait_for(lambda: _refused(client) >= 1, 10, message="the flusher was refused")
    # room for a few of the 100 KB messages, not for all 20 of the chunk
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", used + 500_000)
    refused_before = _refused(client)
    wait_for(lambda: _refused(client) > refused_before, 10, message="a flush refused in part")
    stream = queue_keys(queue_name).stream
    assert (client.xlen(stream), producer.buffered) == (0, 20), "refused whole, kept whole"

    client.config_set("maxmemory", 0)
    wait_for(lambda: producer.buffered == 0, 10, message="flushed")
    expected = [f'{{"n":{n},"pad":"{big}"}}'.encode() for n in range(20)]
    assert _payloads(client, queue_name) == expected, "each once, in order"
    producer.close()


def test_a_refused_publish_with_nothing_buffered_raises_to_its_caller(
    make_redis_server: Callable[..., RedisServer], queue_name: str
) -> None:
    server = make_redis_server(extra_args=("--maxmemory", "1", "--maxmemory-policy", "noeviction"))
    producer = Producer(queue_name, redis=server.url, on_unavailable="buffer")
    with pytest.raises(redis.ResponseError, match="maxmemory"):
        producer.publish({"n": 1})
    assert producer.buffered == 0
    producer.close()
