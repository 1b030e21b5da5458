"""The same behaviour from the sync classes and their asyncio twins (queues.aio): each test
runs once per kind. The asyncio objects live on an event loop in a helper thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import pytest
import redis

import queues
import queues.aio
from queues import Message
from queues.exceptions import (
    ConfigurationError,
    ConsumerBusy,
    GroupNotFound,
    NotDurable,
    QueueNotFound,
    ReplayRefused,
)
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Recorder, wait_for
from tests.support.redis_process import RedisServer


class Twin:
    """Builds sync or asyncio objects and drives them from the test's thread."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.lib: Any = queues.aio if kind == "aio" else queues
        self.loop: asyncio.AbstractEventLoop | None = None
        self.running: list[tuple[Any, Any]] = []
        if kind == "aio":
            self.loop = asyncio.new_event_loop()
            threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def call(self, value: Any) -> Any:
        """The value, or the result of awaiting it on the twin's loop."""
        if asyncio.iscoroutine(value):
            assert self.loop is not None
            return asyncio.run_coroutine_threadsafe(value, self.loop).result(30)
        return value

    def make(self, cls: str, *args: Any, **kwargs: Any) -> Any:
        if self.kind == "aio":

            async def build() -> Any:
                return getattr(self.lib, cls)(*args, **kwargs)

            return self.call(build())
        return getattr(self.lib, cls)(*args, **kwargs)

    def blocking(self, fn: Callable[[Message], Any]) -> Callable[[Message], Any]:
        """``fn`` as a handler that may block (sleep, wait on an event): as it is for the sync
        consumer; for the asyncio one a coroutine running it in a thread, so that the loop
        (heartbeat, lock refresh, handler_timeout) keeps going meanwhile."""
        if self.kind == "sync":
            return fn

        async def handler(message: Message) -> Any:
            return await asyncio.to_thread(fn, message)

        return handler

    def stop_soon(self, consumer: Any) -> None:
        """consumer.stop() from any thread (on the asyncio twin's loop)."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(consumer.stop)
        else:
            consumer.stop()

    def burst(self, consumer: Any) -> None:
        self.call(consumer.run(burst=True))

    def start(self, consumer: Any) -> None:
        if self.loop is not None:
            future: Any = asyncio.run_coroutine_threadsafe(consumer.run(), self.loop)
        else:
            future = Future()

            def target() -> None:
                try:
                    consumer.run()
                    future.set_result(None)
                except BaseException as exc:  # noqa: BLE001 - reported by stop_all
                    future.set_exception(exc)

            threading.Thread(target=target, daemon=True).start()
        self.running.append((consumer, future))

    def stop_all(self) -> None:
        for consumer, _ in self.running:
            if self.loop is not None:
                self.loop.call_soon_threadsafe(consumer.stop)
            else:
                consumer.stop()
        for _, future in self.running:
            future.result(15)
        self.running.clear()

    def close(self) -> None:
        self.stop_all()
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(params=["sync", "aio"])
def twin(request: pytest.FixtureRequest) -> Iterator[Twin]:
    t = Twin(request.param)
    yield t
    t.close()


@pytest.mark.runs_on("single", "cluster")
def test_round_trip_each_message_once_and_acked(
    twin: Twin, redis_url: str, queue_name: str
) -> None:
    producer = twin.make("Producer", queue_name, redis_url)
    ids = twin.call(producer.publish_many([{"n": n} for n in range(50)]))
    ids.append(twin.call(producer.publish({"n": 50}, headers={"h": "v"})))
    recorder = Recorder()
    consumer = twin.make("Consumer", queue_name, "g", recorder, redis_url, concurrency=2, **FAST)
    twin.burst(consumer)
    assert sorted(recorder.ids()) == sorted(ids) and max(recorder.ids().values()) == 1
    [with_headers] = [m for m in recorder.messages if m.payload == {"n": 50}]
    assert with_headers.headers == {"h": "v"}
    manager = twin.make("Manager", redis_url)
    group = twin.call(manager.info(queue_name)).group("g")
    assert group.pending == 0 and group.lag == 0


def test_claims_idle_entries_of_a_dead_consumer_with_events(
    twin: Twin, redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    producer = twin.make("Producer", queue_name, redis_url)
    ids = twin.call(producer.publish_many(["a", "b", "c"]))
    manager = twin.make("Manager", redis_url)
    twin.call(manager.create_group(queue_name, "g", start="0"))
    redis_client.xreadgroup("g", "ghost", {queue_keys(queue_name).stream: ">"})
    wait_for(lambda: len(twin.call(manager.pending(queue_name, "g"))) == 3, 5, message="pending")
    time.sleep(0.25)  # let them become idle longer than claim_idle
    recorder = Recorder()
    consumer = twin.make("Consumer", queue_name, "g", recorder, redis_url, claim_idle=0.2, **FAST)
    twin.burst(consumer)
    assert sorted(recorder.ids()) == sorted(ids)
    claimed = [e for e in twin.call(manager.events(queue=queue_name)) if e.type == "claimed"]
    assert sorted(e.message_id for e in claimed) == sorted(ids)
    assert {(e.previous_owner, e.new_owner) for e in claimed} == {("ghost", consumer.name)}
    assert twin.call(manager.info(queue_name)).group("g").pending == 0


@pytest.mark.runs_on("single", "cluster")
def test_a_failing_handler_is_retried_with_backoff_then_dead_lettered(
    twin: Twin, redis_url: str, queue_name: str
) -> None:
    seen: list[tuple[int, float]] = []

    def always_fails(message: Message) -> None:
        seen.append((message.deliveries, time.monotonic()))
        raise RuntimeError("boom")

    producer = twin.make("Producer", queue_name, redis_url)
    twin.call(producer.publish("x"))
    manager = twin.make("Manager", redis_url)
    consumer = twin.make(
        "Consumer",
        queue_name,
        "g",
        always_fails,
        redis_url,
        max_deliveries=3,
        backoff_base=0.1,
        claim_idle=1.0,
        **FAST,
    )
    twin.start(consumer)
    wait_for(lambda: twin.call(manager.dead_letters(queue_name)), 10, message="dead-lettered")
    twin.stop_all()
    assert [d for d, _ in seen] == [1, 2, 3]
    assert seen[1][1] - seen[0][1] >= 0.1 and seen[2][1] - seen[1][1] >= 0.2, "backoff grows"
    [dead] = twin.call(manager.dead_letters(queue_name))
    assert (dead.reason, dead.error, dead.deliveries) == ("max_deliveries", "RuntimeError: boom", 3)
    assert twin.call(manager.info(queue_name)).group("g").pending == 0


@pytest.mark.runs_on("single", "cluster")
def test_a_delayed_message_arrives_after_its_delay(
    twin: Twin, redis_url: str, queue_name: str
) -> None:
    recorder = Recorder()
    consumer = twin.make("Consumer", queue_name, "g", recorder, redis_url, **FAST)
    twin.start(consumer)
    producer = twin.make("Producer", queue_name, redis_url)
    published = time.monotonic()
    twin.call(producer.publish({"later": 1}, delay=0.4))
    twin.call(producer.publish({"now": 1}))
    wait_for(lambda: recorder.count == 2, 5, message="both delivered")
    assert recorder.payloads() == [{"now": 1}, {"later": 1}]
    assert 0.4 <= recorder.times[1] - published < 0.4 + 0.2


# ---------------------------------------------------------------------- Producer


def _payloads(client: redis.Redis, key: str) -> list[bytes]:
    rows: Any = client.xrange(key)
    return [fields[b"payload"] for _, fields in rows]


@pytest.mark.parametrize(
    "bad",
    [
        {"on_unavailable": "drop"},
        {"buffer_size": 0},
        {"dedup_window": 0},
        {"maxlen": -1},
        {"durable": True, "durable_replicas": 0},
    ],
)
def test_bad_producer_arguments_are_refused(
    twin: Twin, redis_url: str, queue_name: str, bad: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        twin.make("Producer", queue_name, redis_url, **bad)


@pytest.mark.runs_on("cluster")
def test_a_durable_producer_is_refused_on_a_cluster(twin: Twin, redis_url: str) -> None:
    with pytest.raises(ConfigurationError, match="durable=True is not supported"):
        twin.make("Producer", "q", redis_url, durable=True)


def test_a_dedup_key_publishes_once(
    twin: Twin, redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    producer = twin.make("Producer", queue_name, redis_url)
    first = twin.call(producer.publish("a", dedup_key="k"))
    assert twin.call(producer.publish("b", dedup_key="k")) == first
    assert _payloads(redis_client, queue_keys(queue_name).stream) == [b'"a"']


def test_a_durable_publish_without_replicas_raises_not_durable_after_writing(
    twin: Twin, redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    producer = twin.make("Producer", queue_name, redis_url, durable=True, durable_timeout=0.05)
    with pytest.raises(NotDurable):
        twin.call(producer.publish("one"))
    with pytest.raises(NotDurable):
        twin.call(producer.publish_many(["two", "three"]))
    stream = queue_keys(queue_name).stream
    assert _payloads(redis_client, stream) == [b'"one"', b'"two"', b'"three"']


def test_buffer_mode_holds_publishes_while_redis_is_away_and_flushes_in_order(
    twin: Twin, private_redis: RedisServer, queue_name: str
) -> None:
    producer = twin.make("Producer", queue_name, private_redis.url, on_unavailable="buffer")
    private_redis.stop()
    held = [twin.call(producer.publish(n)) for n in (0, 1, 2)]
    held += twin.call(producer.publish_many([3, 4]))
    assert all(i.startswith("buffered:") for i in held) and producer.buffered == 5
    private_redis.start()
    wait_for(lambda: producer.buffered == 0, 10, message="flushed")
    twin.call(producer.close())
    stream = queue_keys(queue_name).stream
    assert _payloads(private_redis.client(), stream) == [b"0", b"1", b"2", b"3", b"4"]


def test_a_producer_at_a_priority_level_publishes_to_that_level(
    twin: Twin, redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    producer = twin.make("Producer", queue_name, redis_url, priority=2)
    twin.call(producer.publish("urgent"))
    assert _payloads(redis_client, queue_keys(queue_name, 2).stream) == [b'"urgent"']
    assert redis_client.xlen(queue_keys(queue_name).stream) == 0


def test_trim_every_publish_removes_what_every_group_acknowledged(
    twin: Twin, redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    producer = twin.make("Producer", queue_name, redis_url, trim=True, trim_every=300)
    manager = twin.make("Manager", redis_url)
    twin.call(manager.create_group(queue_name, "g", start="0"))
    twin.call(producer.publish_many(list(range(250))))
    twin.burst(twin.make("Consumer", queue_name, "g", Recorder(), redis_url, **FAST))
    twin.call(producer.publish("pending"))
    stream = queue_keys(queue_name).stream
    assert redis_client.xlen(stream) == 251, "no trim before trim_every publishes"
    twin.call(producer.publish_many(list(range(49))))
    # the 300th publish trims (approximately: whole stream nodes of acknowledged entries)
    assert redis_client.xlen(stream) < 300
    assert _payloads(redis_client, stream)[-50] == b'"pending"', "unacknowledged ones stay"


def test_a_notify_publish_waits_for_its_completion(
    twin: Twin, redis_url: str, queue_name: str
) -> None:
    producer = twin.make("Producer", queue_name, redis_url)
    heard: list[Any] = []
    twin.call(producer.on_completion(heard.append))
    published = twin.call(producer.publish("x", notify=True))
    assert twin.call(published.wait(0.05)) is None, "not handled yet"
    twin.burst(twin.make("Consumer", queue_name, "g", Recorder(), redis_url, **FAST))
    completion = twin.call(published.wait(10))
    assert completion is not None and (completion.id, completion.status) == (published, "done")
    wait_for(lambda: len(heard) == 1, 5, message="subscriber called")
    twin.call(producer.close())


# ---------------------------------------------------------------------- Manager


def _dead_letter(client: redis.Redis, queue: str, group: str, payload: str) -> str:
    """A dead letter as dead_letter.lua writes it for level 0."""
    fields = {"reason": "max_deliveries", "error": "ValueError: boom", "deliveries": "1"}
    fields |= {"original_id": "1-1", "group": group, "consumer": "c1", "failed_at": "1"}
    fields |= {"payload": payload, "ctype": "json"}
    entry_id: bytes = client.xadd(queue_keys(queue).dead, fields)  # type: ignore[arg-type,assignment]
    return entry_id.decode()


def test_info_counts_a_queue_and_refuses_an_unknown_one(
    twin: Twin, redis_url: str, queue_name: str
) -> None:
    manager = twin.make("Manager", redis_url)
    with pytest.raises(QueueNotFound):
        twin.call(manager.info(queue_name))
    assert twin.call(manager.create_queue(queue_name)) is True
    assert twin.call(manager.create_queue(queue_name)) is False
    producer = twin.make("Producer", queue_name, redis_url)
    twin.call(producer.publish_many(["a", "b", "c"]))
    twin.call(manager.create_group(queue_name, "g", start="0"))
    info = twin.call(manager.info(queue_name))
    assert (info.length, info.group("g").lag, info.group("g").pending) == (3, 3, 0)
    assert queue_name in twin.call(manager.queues())
    assert twin.call(manager.health(queue_name)).status in ("ok", "warn", "alert")


def test_purge_removes_entries_and_dedup_keys_but_keeps_groups(
    twin: Twin, redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    producer = twin.make("Producer", queue_name, redis_url)
    first = twin.call(producer.publish("x", dedup_key="k"))
    twin.call(producer.publish_many(["a", "b"]))
    twin.call(producer.publish("later", delay=60))
    manager = twin.make("Manager", redis_url)
    twin.call(manager.create_group(queue_name, "g", start="0"))
    _dead_letter(redis_client, queue_name, "g", '"d"')
    assert twin.call(manager.purge(queue_name)) == 3
    info = twin.call(manager.info(queue_name))
    assert (info.length, info.delayed, info.dead) == (0, 0, 1)
    assert [g.name for g in info.groups] == ["g"]
    again = twin.call(producer.publish("x", dedup_key="k"))
    assert again != first, "the dedup key was forgotten: published anew"
    assert twin.call(manager.purge(queue_name, dead=True)) == 1
    assert twin.call(manager.info(queue_name)).dead == 0


def test_replay_publishes_dead_letters_again_and_refuses_a_gone_group(
    twin: Twin, redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    manager = twin.make("Manager", redis_url)
    twin.call(manager.create_group(queue_name, "billing", start="0"))
    _dead_letter(redis_client, queue_name, "billing", '"ok"')
    gone = _dead_letter(redis_client, queue_name, "shipping", '"lost"')
    with pytest.raises(ReplayRefused) as refused:
        twin.call(manager.replay_dead_letters(queue_name))
    assert (refused.value.replayed, refused.value.refused) == (1, {"shipping": [gone]})
    assert [d.id for d in twin.call(manager.dead_letters(queue_name))] == [gone]
    assert twin.call(manager.delete_dead_letters(queue_name)) == 1
    assert twin.call(manager.dead_letters(queue_name)) == []


def test_delete_consumer_refuses_while_it_owns_entries_then_hands_them_over(
    twin: Twin, redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    producer = twin.make("Producer", queue_name, redis_url)
    twin.call(producer.publish_many(["a", "b"]))
    manager = twin.make("Manager", redis_url)
    twin.call(manager.create_group(queue_name, "g", start="0"))
    redis_client.xreadgroup("g", "ghost", {queue_keys(queue_name).stream: ">"})
    with pytest.raises(ConsumerBusy):
        twin.call(manager.delete_consumer(queue_name, "g", "ghost"))
    assert twin.call(manager.delete_consumer(queue_name, "g", "ghost", hand_to="heir")) == 2
    pending = twin.call(manager.pending(queue_name, "g", consumer="heir"))
    assert len(pending) == 2


def test_trim_removes_only_what_every_group_acknowledged(
    twin: Twin, redis_url: str, queue_name: str
) -> None:
    producer = twin.make("Producer", queue_name, redis_url)
    twin.call(producer.publish_many(list(range(5))))
    manager = twin.make("Manager", redis_url)
    twin.call(manager.create_group(queue_name, "g", start="0"))
    consumer = twin.make("Consumer", queue_name, "g", Recorder(), redis_url, **FAST)
    twin.burst(consumer)
    twin.call(producer.publish("undelivered"))
    assert twin.call(manager.trim(queue_name)) == 5
    assert twin.call(manager.info(queue_name)).length == 1


def test_events_are_read_through_a_group_and_acknowledged(
    twin: Twin, redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    producer = twin.make("Producer", queue_name, redis_url)
    twin.call(producer.publish("x"))
    manager = twin.make("Manager", redis_url)
    twin.call(manager.create_group(queue_name, "g", start="0"))
    redis_client.xreadgroup("g", "ghost", {queue_keys(queue_name).stream: ">"})
    wait_for(
        lambda: twin.call(manager.pending(queue_name, "g", min_idle_ms=150)),
        5,
        message="idle long enough to be claimed",
    )
    consumer = twin.make("Consumer", queue_name, "g", Recorder(), redis_url, claim_idle=0.1, **FAST)
    twin.burst(consumer)
    read = twin.call(manager.read_events([queue_name], "watch", "w1"))
    assert "claimed" in {e.type for e in read}
    assert twin.call(manager.read_events([queue_name], "watch", "w1")) == read, "unacked again"
    assert twin.call(manager.ack_events("watch", read)) == len(read)
    assert twin.call(manager.read_events([queue_name], "watch", "w1")) == []


def test_pending_many_names_a_gone_group_and_pending_sample_skips_it(
    twin: Twin, redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    producer = twin.make("Producer", queue_name, redis_url)
    twin.call(producer.publish_many(["a", "b"]))
    manager = twin.make("Manager", redis_url)
    twin.call(manager.create_group(queue_name, "g", start="0"))
    redis_client.xreadgroup("g", "c1", {queue_keys(queue_name).stream: ">"}, count=1)
    [pending] = twin.call(manager.pending_many([(queue_name, "g")]))
    assert [(p.consumer, p.deliveries) for p in pending] == [("c1", 1)]
    with pytest.raises(GroupNotFound, match="'gone'"):
        twin.call(manager.pending_many([(queue_name, "g"), (queue_name, "gone")]))
    sample = twin.call(manager.pending_sample([(queue_name, "gone"), (queue_name, "g")]))
    assert sample[0] is None and sample[1] is not None and len(sample[1]) == 1
