"""A pending entry whose data was trimmed (or XDEL'd) never vanishes unseen: Redis 7 drops
such an entry from the pending list on XCLAIM, so every step that would claim it — retry,
heartbeat, the release of a parked retry, ordered takeover — dead-letters it with reason
``trimmed`` instead (or leaves it pending for a step that will), and reports no claim that
did not happen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from queues import Consumer, Manager, Message, Producer
from queues.guard import ProcessingGuard
from queues.keys import queue_keys
from queues.scripts import Scripts
from tests.queues.conftest import FAST, Recorder, wait_for
from tests.queues.test_twins import Twin

TRIMMED_ERROR = "entry data was deleted before it was acknowledged"


@pytest.fixture(params=["sync", "aio"])
def twin(request: pytest.FixtureRequest) -> Iterator[Twin]:
    t = Twin(request.param)
    yield t
    t.close()


def _events(client: redis.Redis, queue: str) -> list[dict[str, str]]:
    return [
        {k.decode(): v.decode() for k, v in fields.items()}
        for _, fields in client.xrange(queue_keys(queue).events)
    ]


def test_a_handler_failure_on_an_entry_trimmed_meanwhile_is_dead_lettered_with_its_payload(
    twin: Twin, redis_url: str, redis_client: redis.Redis, queue_name: str
) -> None:
    keys = queue_keys(queue_name)

    def trim_then_fail(message: Message) -> None:
        redis_client.xdel(keys.stream, message.id)  # an operator's blind XTRIM, say
        raise ValueError("boom")

    entry_id = redis_client.xadd(keys.stream, {"payload": b'{"n":1}', "ctype": "json"}).decode()
    consumer = twin.make("Consumer", queue_name, "g", trim_then_fail, redis_url, **FAST)
    twin.burst(consumer)

    manager = Manager(redis=redis_url)
    [dead] = manager.dead_letters(queue_name)
    assert (dead.reason, dead.original_id, dead.error) == ("trimmed", entry_id, TRIMMED_ERROR)
    assert dead.payload == {"n": 1}, "the payload the consumer held is kept, so it can be replayed"
    assert manager.pending(queue_name, "g") == []
    assert redis_client.zcard(keys.delayed) == 0, "no retry ticket for an entry that is gone"
    [event] = [e for e in _events(redis_client, queue_name) if e["type"] == "dead_lettered"]
    assert (event["id"], event["reason"]) == (entry_id, "trimmed")
    manager.close()


def test_the_heartbeat_leaves_a_trimmed_entry_pending_for_its_handler_to_settle(
    redis_url: str, redis_client: redis.Redis, queue_name: str
) -> None:
    keys = queue_keys(queue_name)
    manager = Manager(redis=redis_url)

    def trim_wait_fail(message: Message) -> None:
        redis_client.xdel(keys.stream, message.id)

        def idle_past_heartbeats() -> bool:
            rows = manager.pending(queue_name, "g")
            return bool(rows) and rows[0].idle_ms >= 400  # heartbeats every 100 ms ran

        wait_for(idle_past_heartbeats, 5, message="the trimmed entry stays pending")
        raise ValueError("boom")

    redis_client.xadd(keys.stream, {"payload": b'"x"', "ctype": "json"})
    consumer = Consumer(queue_name, "g", trim_wait_fail, redis_url, claim_idle=0.3, **FAST)
    consumer.run(burst=True)
    consumer.close()

    [dead] = manager.dead_letters(queue_name)
    assert (dead.reason, dead.payload) == ("trimmed", "x")
    assert manager.pending(queue_name, "g") == []
    manager.close()


@pytest.mark.runs_on("single", "cluster")
def test_a_parked_retry_trimmed_before_its_release_is_dead_lettered(
    redis_url: str, redis_client: redis.Redis, queue_name: str
) -> None:
    keys = queue_keys(queue_name)
    handled = Recorder()

    def fail_first(message: Message) -> None:
        handled(message)
        if message.deliveries == 1:
            raise ValueError("boom")

    producer = Producer(queue_name, redis=redis_url)
    entry_id = producer.publish({"n": 1})
    producer.close()
    settings: dict[str, Any] = {**FAST, "backoff_base": 0.3, "max_deliveries": 3}
    first = Consumer(queue_name, "g", fail_first, redis_url, **settings)
    first.run(burst=True)
    first.close()
    assert redis_client.zcard(keys.delayed) == 1, "parked for a retry"
    redis_client.xdel(keys.stream, entry_id)

    def ticket_due() -> bool:
        now_s, now_us = redis_client.time()
        return bool(redis_client.zrangebyscore(keys.delayed, "-inf", now_s * 1000 + now_us // 1000))

    wait_for(ticket_due, 5, message="the retry ticket is due")
    second = Consumer(queue_name, "g", fail_first, redis_url, **settings)
    second.run(burst=True)
    second.close()

    manager = Manager(redis=redis_url)
    [dead] = manager.dead_letters(queue_name)
    assert (dead.reason, dead.original_id, dead.consumer) == ("trimmed", entry_id, "__retry__")
    assert manager.pending(queue_name, "g") == []
    assert redis_client.zcard(keys.delayed) == 0
    assert handled.count == 1, "nothing left to hand to a handler"
    [event] = [e for e in _events(redis_client, queue_name) if e["type"] == "dead_lettered"]
    assert (event["id"], event["reason"]) == (entry_id, "trimmed")
    manager.close()


@pytest.mark.runs_on("single", "cluster")
def test_ordered_takeover_dead_letters_a_trimmed_entry_and_reports_no_claim_of_it(
    redis_url: str, redis_client: redis.Redis, queue_name: str
) -> None:
    keys = queue_keys(queue_name)
    redis_client.xgroup_create(keys.stream, "g", id="0", mkstream=True)
    ids = [
        redis_client.xadd(keys.stream, {"payload": str(n).encode(), "ctype": "json"}).decode()
        for n in (1, 2, 3)
    ]
    redis_client.xreadgroup("g", "old", {keys.stream: ">"})  # a predecessor that died
    redis_client.xdel(keys.stream, ids[1])

    handled = Recorder()
    consumer = Consumer(queue_name, "g", handled, redis_url, ordered=True, **FAST)
    consumer.run(burst=True)
    consumer.close()

    assert handled.payloads() == [1, 3]
    manager = Manager(redis=redis_url)
    [dead] = manager.dead_letters(queue_name)
    assert (dead.reason, dead.original_id, dead.consumer) == ("trimmed", ids[1], "old")
    events = _events(redis_client, queue_name)
    assert sorted(e["id"] for e in events if e["type"] == "claimed") == [ids[0], ids[2]]
    assert [e["id"] for e in events if e["type"] == "dead_lettered"] == [ids[1]]
    assert manager.pending(queue_name, "g") == []
    manager.close()


def test_a_bad_delayed_ticket_is_dead_lettered_with_an_event(
    redis_url: str, redis_client: redis.Redis, queue_name: str
) -> None:
    keys = queue_keys(queue_name)
    redis_client.zadd(keys.delayed, {"not a ticket": 0})
    consumer = Consumer(queue_name, "g", lambda m: None, redis_url, **FAST)
    consumer.run(burst=True)
    consumer.close()

    manager = Manager(redis=redis_url)
    [dead] = manager.dead_letters(queue_name)
    assert dead.reason == "undecodable" and dead.error.startswith("bad delayed ticket")
    [event] = [e for e in _events(redis_client, queue_name) if e["type"] == "dead_lettered"]
    assert (event["reason"], event["dead_id"]) == ("undecodable", dead.id)
    assert redis_client.zcard(keys.delayed) == 0
    manager.close()


class TrimsBeforeClaim(redis.Redis):
    """A real client on which the entry an ordered consumer is about to re-claim is trimmed
    just before its XCLAIM: an operator's XTRIM landing between the consumer's two calls."""

    trimmed: str | None = None

    def xclaim(self, name: Any, groupname: Any, consumername: Any, min_idle_time: Any,
               message_ids: Any, **kwargs: Any) -> Any:  # fmt: skip
        if self.trimmed is None:
            self.trimmed = message_ids[0]
            self.xdel(name, message_ids[0])
        return super().xclaim(name, groupname, consumername, min_idle_time, message_ids, **kwargs)


def test_an_entry_trimmed_just_before_an_ordered_consumer_reclaims_it_is_dead_lettered(
    redis_url: str, redis_client: redis.Redis, queue_name: str
) -> None:
    keys = queue_keys(queue_name)
    redis_client.xgroup_create(keys.stream, "g", id="0", mkstream=True)
    ids = [
        redis_client.xadd(keys.stream, {"payload": str(n).encode(), "ctype": "json"}).decode()
        for n in (1, 2)
    ]
    client = TrimsBeforeClaim.from_url(redis_url)
    handled = Recorder()
    consumer = Consumer(queue_name, "g", handled, client, name="c1", ordered=True, **FAST)
    client.xreadgroup("g", "c1", {keys.stream: ">"})  # its own, from before a restart
    consumer.run(burst=True)
    consumer.close()
    client.close()

    assert client.trimmed == ids[0]
    assert handled.payloads() == [2]
    manager = Manager(redis=redis_url)
    [dead] = manager.dead_letters(queue_name)
    assert (dead.reason, dead.original_id, dead.consumer) == ("trimmed", ids[0], "c1")
    assert manager.pending(queue_name, "g") == []
    manager.close()


def test_the_processing_guard_does_not_hand_back_an_entry_trimmed_meanwhile(
    redis_client: redis.Redis, queue_name: str
) -> None:
    keys = queue_keys(queue_name)
    redis_client.xgroup_create(keys.stream, "g", id="0", mkstream=True)
    entry_id = redis_client.xadd(keys.stream, {"payload": b"1", "ctype": "json"}).decode()
    scripts = Scripts(redis_client)
    holder = ProcessingGuard(keys, "g", "a", ttl_ms=60_000)
    redis_client.xreadgroup("g", "a", {keys.stream: ">"})
    assert holder.taken(entry_id, scripts.guard(*holder.take_call(entry_id, 1)))
    redis_client.xclaim(keys.stream, "g", "b", 0, [entry_id])  # b claimed it from a...
    redis_client.xdel(keys.stream, entry_id)  # ...and then its data was trimmed
    other = ProcessingGuard(keys, "g", "b", ttl_ms=60_000)
    assert not other.taken(entry_id, scripts.guard(*other.take_call(entry_id, 2)))

    [row] = redis_client.xpending_range(keys.stream, "g", "-", "+", 10)
    assert row["message_id"].decode() == entry_id, "still pending: a claim scan dead-letters it"
