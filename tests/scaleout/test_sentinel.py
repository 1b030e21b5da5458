"""Sentinel: consumers and producers ride through a master failover; durable publish (WAIT)
makes an acknowledged publish survive it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest

from queues import (
    ConfigurationError,
    Consumer,
    Manager,
    Message,
    NotDurable,
    Producer,
    QueueUnavailable,
)
from queues.keys import queue_keys
from tests.queues.conftest import FAST
from tests.support.redis_cluster import RedisClusterFixture
from tests.support.redis_process import RedisServer, wait_for
from tests.support.redis_sentinel import RedisSentinelFixture


@pytest.fixture
def sentinel_url(redis_sentinel: RedisSentinelFixture) -> str:
    redis_sentinel.wait_ready()
    redis_sentinel.flush()
    return redis_sentinel.url


def test_a_durable_publish_returns_once_the_replica_has_the_message(
    sentinel_url: str, redis_sentinel: RedisSentinelFixture, queue_name: str
) -> None:
    producer = Producer(queue_name, redis=sentinel_url, durable=True)
    entry_id = producer.publish({"n": 1})
    ids = producer.publish_many([{"n": 2}, {"n": 3}])
    delayed = producer.publish({"n": 4}, delay=60, dedup_key="once")
    replica = redis_sentinel.replica().client()
    # no waiting: WAIT returned only after the replica had applied the writes
    stream = [i.decode() for i, _ in replica.xrange(queue_keys(queue_name).stream)]
    assert stream == [entry_id, *ids]
    assert replica.zcard(queue_keys(queue_name).delayed) == 1
    assert producer.publish({"n": 4}, delay=60, dedup_key="once") == delayed
    producer.close()


def test_a_durable_publish_without_enough_replicas_raises_not_durable(
    make_redis_server: Callable[..., RedisServer], queue_name: str
) -> None:
    server = make_redis_server()  # no replica at all
    producer = Producer(queue_name, redis=server.url, durable=True, durable_timeout=0.1)
    started = time.monotonic()
    with pytest.raises(NotDurable, match="only 0 of 1 replicas") as info:
        producer.publish({"n": 1})
    assert time.monotonic() - started < 1.0
    # the message is on the master: the error says so rather than pretending otherwise
    assert server.client().xlen(queue_keys(queue_name).stream) == 1
    assert len(info.value.ids) == 1
    with pytest.raises(NotDurable):
        producer.publish_many([1, 2])


def test_durable_publish_is_refused_on_a_cluster(redis_cluster: RedisClusterFixture) -> None:
    with pytest.raises(ConfigurationError, match="Cluster"):
        Producer("q", redis=redis_cluster.url, durable=True)


def _publish_until_done(producer: Producer, index: int, deadline: float) -> str:
    """Publish message ``index``, retrying through the failover; the dedup key makes a retry
    of a publish that did reach Redis return the first id instead of publishing twice."""
    while True:
        try:
            return producer.publish({"n": index}, dedup_key=f"m{index}")
        except (QueueUnavailable, NotDurable):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("how", "durable"),
    [("kill", True), ("kill", False), ("sentinel-failover", True)],
    ids=["master-killed-durable", "master-killed-plain", "sentinel-failover-durable"],
)
def test_a_consumer_keeps_processing_across_a_master_failover_under_load(
    sentinel_url: str,
    redis_sentinel: RedisSentinelFixture,
    queue_name: str,
    how: str,
    durable: bool,
) -> None:
    """SIGKILL of the master (Sentinels promote the replica), or SENTINEL FAILOVER (the old
    master is demoted while clients still talk to it: they get READONLY and reconnect)."""
    total = 3_000
    seen: Counter[int] = Counter()
    lock = threading.Lock()

    def handle(message: Message) -> None:
        with lock:
            seen[message.payload["n"]] += 1

    consumer = Consumer(queue_name, "g", handle, sentinel_url, claim_idle=2.0, **FAST)
    runner = threading.Thread(target=consumer.run, daemon=True)
    runner.start()
    producer = Producer(queue_name, redis=sentinel_url, durable=durable)
    published: dict[int, str] = {}
    failover: dict[str, object] = {}

    def fail_over() -> None:
        wait_for(lambda: len(published) >= total // 3, 30, message="load running")
        started = time.monotonic()
        if how == "kill":
            failover["ports"] = redis_sentinel.kill_master()
        else:
            failover["ports"] = redis_sentinel.failover()
        failover["seconds"] = time.monotonic() - started

    killer = threading.Thread(target=fail_over, daemon=True)
    killer.start()
    deadline = time.monotonic() + 60
    for index in range(total):
        published[index] = _publish_until_done(producer, index, deadline)
    killer.join(30)
    assert "ports" in failover, "the failover did not happen"
    try:
        wait_for(lambda: set(seen) >= set(published), 30, message="every message handled")
    except TimeoutError:
        pass  # reported below: lost messages are the finding, not a harness error
    finally:
        consumer.stop()
        runner.join(15)
    lost = sorted(set(published) - set(seen))
    duplicates = sum(count - 1 for count in seen.values() if count > 1)
    old, new = failover["ports"]  # type: ignore[misc]
    print(
        f"\n{how} ({'durable' if durable else 'plain'} publish): master "
        f"{old} -> {new} in {failover['seconds']:.1f}s; published {len(published)}, "
        f"handled {len(seen)} distinct, lost {len(lost)}, duplicates {duplicates}"
    )
    assert consumer.stats.processed >= len(seen)
    if durable:
        assert lost == [], f"durable publish lost {len(lost)} acknowledged messages: {lost[:10]}"
    info = Manager(redis=sentinel_url).info(queue_name)
    assert info.group("g").lag == 0


@pytest.mark.slow
def test_publish_rate_with_and_without_durable(sentinel_url: str, queue_name: str) -> None:
    """Prints what WAIT costs: one more round trip to the replica per publish (or per
    publish_many chunk)."""
    rates: dict[str, float] = {}
    for durable in (False, True):
        producer = Producer(queue_name, redis=sentinel_url, durable=durable)
        producer.publish("warm-up")
        count = 2_000
        started = time.perf_counter()
        for index in range(count):
            producer.publish({"n": index})
        rates[f"publish durable={durable}"] = count / (time.perf_counter() - started)
        started = time.perf_counter()
        for _ in range(20):
            producer.publish_many([{"n": i} for i in range(500)])
        rates[f"publish_many durable={durable}"] = 10_000 / (time.perf_counter() - started)
        producer.close()
    print("\n" + "\n".join(f"{name}: {rate:,.0f} msg/s" for name, rate in rates.items()))
    assert all(rate > 0 for rate in rates.values())


def test_the_asyncio_twins_publish_durably_through_a_sentinel_url(
    sentinel_url: str, redis_sentinel: RedisSentinelFixture, queue_name: str
) -> None:
    import asyncio

    import queues.aio

    async def main() -> tuple[str, list[str], int, str]:
        producer = queues.aio.Producer(queue_name, redis=sentinel_url, durable=True)
        first = await producer.publish({"n": 1})
        ids = [first, *await producer.publish_many([{"n": 2}])]
        manager = queues.aio.Manager(redis=sentinel_url)
        length = (await manager.info(queue_name)).length
        await producer.close()
        await manager.close()
        return first, ids, length, producer.address

    _first, ids, length, where = asyncio.run(main())
    assert length == 2 and where.startswith("sentinel:")
    replica = redis_sentinel.replica().client()
    # durable: WAIT returned only after the replica had applied the writes
    assert [i.decode() for i, _ in replica.xrange(queue_keys(queue_name).stream)] == ids
