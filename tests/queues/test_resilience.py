"""Shutdown and outages: SIGTERM finishes in-flight work; Redis going away is loud, and
producers and consumers carry on when it returns."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable

import pytest
import redis

from queues import Consumer, Manager, Producer, QueueUnavailable
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Child, Recorder, Runner, wait_for
from tests.support.redis_process import RedisServer

CHILD_BATCH = """
    import time
    import redis
    from queues import Consumer

    url, queue = {url!r}, {queue!r}
    marks = redis.Redis.from_url(url)

    def handle(message):
        marks.rpush("started", message.id)
        time.sleep(0.5)
        marks.rpush("finished", message.id)

    Consumer(queue, "g", handle, url, name="batcher", concurrency=4, batch_size=8,
             block_ms=100).run()
    print("exited cleanly")
"""


@pytest.mark.chaos
def test_sigterm_during_a_batch_finishes_and_acks_in_flight_messages(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    spawn: Callable[[str], Child],
) -> None:
    producer.publish_many([{"n": i} for i in range(40)])
    child = spawn(CHILD_BATCH.format(url=redis_url, queue=queue_name))
    wait_for(lambda: redis_client.llen("started") >= 4, 15, message="a batch in flight")
    child.proc.send_signal(signal.SIGTERM)
    assert child.proc.wait(15) == 0, child.output()
    assert "exited cleanly" in child.output()

    started = redis_client.lrange("started", 0, -1)
    finished = redis_client.lrange("finished", 0, -1)
    assert started and sorted(started) == sorted(finished), "every started handler finished"
    group = manager.info(queue_name).group("g")
    assert group.pending == 0, "everything it read was acknowledged"
    assert group.consumers == (), "it left the group cleanly"
    assert len(finished) < 40 and group.lag == 40 - len(finished), "it stopped reading"


def test_stop_from_another_thread_finishes_in_flight_messages(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager, runner: Runner
) -> None:
    finished = Recorder()

    def slow(message: object) -> None:
        time.sleep(0.3)
        finished(message)  # type: ignore[arg-type]

    consumer = runner.start(
        Consumer(queue_name, "g", slow, redis_url, concurrency=3, batch_size=3, **FAST)
    )
    producer.publish_many(list(range(9)))
    wait_for(lambda: manager.info(queue_name).group("g").pending >= 3, 5, message="in flight")
    consumer.stop()
    runner.stop_all()
    group = manager.info(queue_name).group("g")
    assert group.pending == 0
    assert finished.count == 9 - group.lag


@pytest.mark.chaos
def test_redis_stopped_publish_fails_fast_and_both_sides_recover_after_restart(
    private_redis: RedisServer, queue_name: str, runner: Runner
) -> None:
    url = private_redis.url
    producer = Producer(queue_name, redis=url)
    recorder = Recorder()
    runner.start(Consumer(queue_name, "g", recorder, url, claim_idle=1.0, **FAST))
    producer.publish("before")
    wait_for(lambda: recorder.payloads() == ["before"], 10, message="first message handled")

    private_redis.stop()
    started = time.monotonic()
    with pytest.raises(QueueUnavailable) as info:
        producer.publish("while down")
    assert time.monotonic() - started < 5.0
    assert f"127.0.0.1:{private_redis.port}" in str(info.value)
    with pytest.raises(ConnectionError):  # QueueUnavailable is a ConnectionError too
        producer.publish_many(["also down"])

    private_redis.start()  # no persistence: stream, group and registry are gone
    producer.publish("after")  # the same producer, no restart
    wait_for(lambda: "after" in recorder.payloads(), 15, message="consumer recovered")
    assert recorder.payloads() == ["before", "after"]
    manager = Manager(redis=url)
    assert queue_name in manager.queues()
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 5, message="acked")
    events = [e.type for e in manager.events(queue=queue_name)]
    assert "group_recreated" in events
    producer.close()
    manager.close()


@pytest.mark.chaos
def test_a_killed_connection_is_reopened_and_consuming_continues(
    redis_url: str, queue_name: str, producer: Producer, redis_client: redis.Redis, runner: Runner
) -> None:
    recorder = Recorder()
    runner.start(Consumer(queue_name, "g", recorder, redis_url, **FAST))
    producer.publish(1)
    wait_for(lambda: recorder.count == 1, 5, message="first")
    for _ in range(3):
        redis_client.client_kill_filter(_type="normal", skipme=True)
    producer.publish(2)
    wait_for(lambda: recorder.count == 2, 10, message="handled after CLIENT KILL")


@pytest.mark.runs_on("single", "cluster")
def test_a_deleted_group_is_recreated_and_nothing_is_skipped_or_replayed(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager, runner: Runner
) -> None:
    recorder = Recorder()
    runner.start(Consumer(queue_name, "g", recorder, redis_url, **FAST))
    producer.publish("one")
    wait_for(lambda: recorder.count == 1, 5, message="first")
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 5, message="acked")
    manager.delete_group(queue_name, "g")
    producer.publish("two")
    wait_for(lambda: recorder.count >= 2, 10, message="group recreated, the new one read")
    runner.stop_all()
    assert recorder.payloads() == ["one", "two"]


def test_a_consumer_warns_when_redis_may_evict_its_keys(
    make_redis_server: Callable[..., RedisServer],
    queue_name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = make_redis_server(extra_args=("--maxmemory-policy", "allkeys-lru"))
    consumer = Consumer(queue_name, "g", print, server.url, **FAST)
    with caplog.at_level("WARNING", logger="queues.consumer"):
        consumer.run(burst=True)
    assert consumer.eviction_policy == "allkeys-lru"
    assert "may evict" in caplog.text
    health = Manager(redis=server.url).health(queue_name)
    [check] = [c for c in health.checks if c.name == "maxmemory_policy"]
    assert check.status == "warn" and "allkeys-lru" in check.detail


def test_publish_to_a_port_where_nothing_listens_fails_within_five_seconds(
    queue_name: str,
) -> None:
    from tests.support.redis_process import free_port

    port = free_port()
    started = time.monotonic()
    with pytest.raises(QueueUnavailable, match=f"127.0.0.1:{port}"):
        Producer(queue_name, redis=f"redis://127.0.0.1:{port}/0").publish(1)
    assert time.monotonic() - started < 5.0
    assert sys.modules["queues"].QueueUnavailable is QueueUnavailable


def test_queue_keys_share_one_hash_slot(queue_name: str) -> None:
    from redis.crc import key_slot

    keys = queue_keys(queue_name)
    slots = {key_slot(k.encode()) for k in (keys.stream, keys.delayed, keys.dead, keys.events)}
    slots.add(key_slot(keys.dedup("x").encode()))
    assert len(slots) == 1
