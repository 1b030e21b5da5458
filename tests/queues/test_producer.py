"""Producer: what publish puts into Redis, and how it fails."""

from __future__ import annotations

import json
import time

import pytest
import redis

from queues import ConfigurationError, Manager, Producer, SerializationError
from queues.keys import REGISTRY, queue_keys
from tests.queues.conftest import wait_for


@pytest.mark.runs_on("single", "cluster")
def test_publish_adds_one_entry_with_payload_ctype_headers_and_time(
    producer: Producer, redis_client: redis.Redis, queue_name: str
) -> None:
    before = int(time.time() * 1000)
    entry_id = producer.publish({"order": 1}, headers={"trace": "abc"})
    keys = queue_keys(queue_name)
    [(got_id, fields)] = redis_client.xrange(keys.stream)
    assert got_id.decode() == entry_id
    assert json.loads(fields[b"payload"]) == {"order": 1}
    assert fields[b"ctype"] == b"json"
    assert json.loads(fields[b"headers"]) == {"trace": "abc"}
    assert int(fields[b"published"]) >= before


@pytest.mark.runs_on("single", "cluster")
def test_publish_registers_the_queue(producer: Producer, manager: Manager, queue_name: str) -> None:
    producer.publish(1)
    assert queue_name in manager.queues()


@pytest.mark.runs_on("single", "cluster")
def test_publish_many_returns_ids_in_order(
    producer: Producer, redis_client: redis.Redis, queue_name: str
) -> None:
    ids = producer.publish_many([{"n": i} for i in range(2500)])
    assert len(ids) == 2500 == len(set(ids))
    stream = redis_client.xrange(queue_keys(queue_name).stream)
    assert [i.decode() for i, _ in stream] == ids
    assert [json.loads(f[b"payload"])["n"] for _, f in stream] == list(range(2500))


def test_a_payload_that_is_not_json_raises_and_publishes_nothing(
    producer: Producer, redis_client: redis.Redis, queue_name: str
) -> None:
    with pytest.raises(SerializationError, match="not JSON-serialisable"):
        producer.publish({"when": object()})
    with pytest.raises(SerializationError):
        producer.publish_many([{"ok": 1}, {1, 2}])
    with pytest.raises(ValueError):  # SerializationError is a ValueError too
        producer.publish(float("nan"))
    assert redis_client.xlen(queue_keys(queue_name).stream) == 0


def test_a_bad_url_is_a_clear_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="invalid Redis URL 'http://x:1'"):
        Producer("q", redis="http://x:1")
    with pytest.raises(ConfigurationError) as info:
        Producer("q", redis="ftp://user:secret@host")
    assert "secret" not in str(info.value)
    with pytest.raises(ConfigurationError, match="redis must be a URL string"):
        Producer("q", redis=42)  # type: ignore[arg-type]


def test_queue_names_that_break_the_hash_tag_are_refused(redis_url: str) -> None:
    with pytest.raises(ValueError, match="braces"):
        Producer("a{b}", redis=redis_url)
    with pytest.raises(ValueError):
        Producer("", redis=redis_url)


@pytest.mark.runs_on("single", "cluster")
def test_same_dedup_key_publishes_once(
    producer: Producer, redis_client: redis.Redis, queue_name: str
) -> None:
    first = producer.publish({"n": 1}, dedup_key="order-1")
    again = producer.publish({"n": 1}, dedup_key="order-1")
    other = producer.publish({"n": 2}, dedup_key="order-2")
    assert first == again != other
    assert redis_client.xlen(queue_keys(queue_name).stream) == 2


def test_a_dedup_key_lands_once_within_its_window_even_from_racing_threads(
    redis_url: str, redis_client: redis.Redis, queue_name: str
) -> None:
    import threading

    producer = Producer(queue_name, redis=redis_url, dedup_window=0.5)
    start = threading.Barrier(8)
    ids: list[str] = []

    def publish() -> None:
        start.wait()
        ids.append(producer.publish({"n": 1}, dedup_key="k"))

    threads = [threading.Thread(target=publish) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1 and redis_client.xlen(queue_keys(queue_name).stream) == 1
    wait_for(
        lambda: not redis_client.exists(queue_keys(queue_name).dedup("k")), 3, message="expired"
    )
    assert producer.publish({"n": 1}, dedup_key="k") not in ids, "a new window publishes again"
    assert redis_client.xlen(queue_keys(queue_name).stream) == 2
    producer.close()


@pytest.mark.runs_on("single", "cluster")
def test_a_delayed_publish_waits_in_the_delayed_set(
    producer: Producer, redis_client: redis.Redis, queue_name: str
) -> None:
    ticket = producer.publish({"later": True}, delay=30)
    keys = queue_keys(queue_name)
    assert redis_client.xlen(keys.stream) == 0
    [(member, score)] = redis_client.zrange(keys.delayed, 0, -1, withscores=True)
    assert json.loads(member)["u"] == ticket
    assert score == pytest.approx((time.time() + 30) * 1000, abs=2000)
    with pytest.raises(ValueError, match="delay or at"):
        producer.publish(1, delay=1, at=time.time() + 5)


def test_a_client_with_decoded_responses_still_works(redis_url: str, queue_name: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    producer = Producer(queue_name, redis=client)
    entry_id = producer.publish({"x": 1})
    assert isinstance(entry_id, str)
    assert REGISTRY  # the registry key is a plain string
