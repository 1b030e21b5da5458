"""Hostile payloads: any entry that cannot be decoded is dead-lettered at its first delivery,
an entry delivered too often is dead-lettered without being decoded again, and payloads
above ``max_payload_bytes`` are never decoded."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from queues import Consumer, Manager, Producer
from queues.exceptions import UndecodableEntry
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Recorder, Runner, wait_for

#: 2 KB that make Python's json raise RecursionError, not ValueError
NESTED = "[" * 1000 + "]" * 1000


def dead_by_original(manager: Manager, queue: str) -> dict[str, Any]:
    return {d.original_id: d for d in manager.dead_letters(queue)}


def test_deeply_nested_json_is_dead_lettered_at_its_first_delivery(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
    runner: Runner,
) -> None:
    stream = queue_keys(queue_name).stream
    nested_payload = redis_client.xadd(stream, {"payload": NESTED, "ctype": "json"}).decode()
    nested_headers = redis_client.xadd(
        stream, {"payload": "1", "ctype": "json", "headers": '{"a":' + NESTED + "}"}
    ).decode()
    producer.publish({"n": 1})
    recorder = Recorder()
    # a short claim_idle: an entry left pending would be claimed over and over
    runner.start(
        Consumer(queue_name, "g", recorder, redis_url, claim_idle=0.2, claim_interval=0.05, **FAST)
    )
    wait_for(lambda: manager.info(queue_name).dead == 2, 10, message="both dead-lettered")
    wait_for(lambda: manager.info(queue_name).group("g").pending == 0, 5, message="settled")

    assert recorder.payloads() == [{"n": 1}]
    dead = dead_by_original(manager, queue_name)
    for entry_id in (nested_payload, nested_headers):
        assert dead[entry_id].reason == "undecodable"
        assert dead[entry_id].deliveries == 1, "dead-lettered at once, not after a claim storm"
        assert "nest" in dead[entry_id].error or "recursion" in dead[entry_id].error.lower()
    assert dead[nested_payload].payload is None
    assert dead[nested_payload].payload_raw == NESTED.encode()
    assert manager.info(queue_name).dead == 2


class Exploding:
    """A serializer whose loads fails with something other than UndecodableEntry."""

    content_type = "exploding"

    def __init__(self) -> None:
        self.loads_calls = 0

    def dumps(self, payload: Any) -> bytes:
        return repr(payload).encode()

    def loads(self, data: bytes) -> Any:
        self.loads_calls += 1
        raise KeyError("the codec's own bug")


def test_any_decoding_failure_dead_letters_at_once(
    redis_url: str,
    queue_name: str,
    manager: Manager,
    redis_client: redis.Redis,
    runner: Runner,
) -> None:
    serializer = Exploding()
    entry_id = redis_client.xadd(
        queue_keys(queue_name).stream, {"payload": b"x", "ctype": "exploding"}
    ).decode()
    recorder = Recorder()
    runner.start(
        Consumer(
            queue_name,
            "g",
            recorder,
            redis_url,
            serializer=serializer,
            claim_idle=0.2,
            claim_interval=0.05,
            **FAST,
        )
    )
    wait_for(lambda: manager.info(queue_name).dead == 1, 10, message="dead-lettered")
    [dead] = manager.dead_letters(queue_name)
    assert (dead.original_id, dead.reason, dead.deliveries) == (entry_id, "undecodable", 1)
    assert "KeyError" in dead.error
    assert serializer.loads_calls == 1
    assert recorder.count == 0


def test_an_entry_past_max_deliveries_is_dead_lettered_without_decoding_it(
    redis_url: str,
    queue_name: str,
    manager: Manager,
    redis_client: redis.Redis,
    runner: Runner,
) -> None:
    stream = queue_keys(queue_name).stream
    serializer = Exploding()
    entry_id = redis_client.xadd(stream, {"payload": b"x", "ctype": "exploding"}).decode()
    redis_client.xgroup_create(stream, "g", id="0")
    # a crashed consumer took it twice (delivery counter 2)
    redis_client.xreadgroup("g", "crashed", {stream: ">"})
    redis_client.xclaim(stream, "g", "crashed", 0, [entry_id])
    runner.start(
        Consumer(
            queue_name,
            "g",
            Recorder(),
            redis_url,
            serializer=serializer,
            max_deliveries=2,
            claim_idle=0.1,
            claim_interval=0.05,
            **FAST,
        )
    )
    wait_for(lambda: manager.info(queue_name).dead == 1, 10, message="dead-lettered")
    [dead] = manager.dead_letters(queue_name)
    assert (dead.original_id, dead.reason) == (entry_id, "max_deliveries")
    assert serializer.loads_calls == 0, "a payload that may crash the decoder is not decoded"


def test_a_payload_above_max_payload_bytes_is_dead_lettered_undecoded(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    runner: Runner,
) -> None:
    big = producer.publish("x" * 5000)
    producer.publish("small")
    recorder = Recorder()
    runner.start(Consumer(queue_name, "g", recorder, redis_url, max_payload_bytes=1000, **FAST))
    wait_for(lambda: recorder.count == 1, 10, message="the small one handled")
    wait_for(lambda: manager.info(queue_name).dead == 1, 10, message="the big one dead-lettered")
    [dead] = manager.dead_letters(queue_name)
    assert (dead.original_id, dead.reason, dead.deliveries) == (big, "undecodable", 1)
    assert "5002 bytes" in dead.error and "max_payload_bytes=1000" in dead.error
    assert dead.payload == "x" * 5000  # kept whole in the dead letter
    assert recorder.payloads() == ["small"]


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10"])
def test_max_payload_bytes_must_be_a_positive_integer(redis_url: str, bad: Any) -> None:
    with pytest.raises(ValueError, match="max_payload_bytes"):
        Consumer("q", "g", print, redis_url, max_payload_bytes=bad)


def test_the_json_serializer_turns_recursion_into_undecodable_entry() -> None:
    from queues.serializers import JSON

    with pytest.raises(UndecodableEntry):
        JSON.loads(NESTED.encode())
