"""Replaying dead letters: each one goes back where a consumer of its group can handle it, or
is refused with an error naming the group; the dead letters present when the replay starts
are the ones replayed (not those dead-lettered while it runs)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
import redis.asyncio

import queues.aio
from queues import Consumer, Manager, Message
from queues.exceptions import ReplayRefused
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Recorder, wait_for


def _dead_letter(client: redis.Redis, queue: str, group: str, payload: str) -> str:
    """A dead letter as dead_letter.lua writes it for level 0."""
    return client.xadd(
        queue_keys(queue).dead,
        {
            "reason": "max_deliveries",
            "error": "ValueError: boom",
            "traceback": "",
            "deliveries": "1",
            "original_id": "1-1",
            "group": group,
            "consumer": "c1",
            "failed_at": "1",
            "payload": payload,
            "ctype": "json",
        },
    ).decode()


class AppendsDuringWalk(redis.Redis):
    """A real client whose first XRANGE of the dead-letter stream is followed by another
    connection appending a dead letter: a consumer dead-lettering while the replay walks."""

    appended: str | None = None

    def xrange(self, name: Any, *args: Any, **kwargs: Any) -> Any:
        rows = super().xrange(name, *args, **kwargs)
        if self.appended is None and name.endswith(":dead"):
            queue = name.split("{", 1)[1].rsplit("}", 1)[0]
            other = redis.Redis(connection_pool=self.connection_pool)
            self.appended = _dead_letter(other, queue, "g", '"late"')
        return rows


class AsyncAppendsDuringWalk(redis.asyncio.Redis):
    """The asyncio twin of AppendsDuringWalk."""

    appended: str | None = None

    async def xrange(self, name: Any, *args: Any, **kwargs: Any) -> Any:
        rows = await super().xrange(name, *args, **kwargs)
        if self.appended is None and name.endswith(":dead"):
            queue = name.split("{", 1)[1].rsplit("}", 1)[0]
            fields = {"reason": "max_deliveries", "group": "g", "payload": '"late"'}
            fields["ctype"] = "json"
            self.appended = (await super().xadd(queue_keys(queue).dead, fields)).decode()
        return rows


@pytest.mark.parametrize("kind", ["sync", "aio"])
def test_a_replay_replays_the_dead_letters_present_when_it_started(
    redis_url: str, redis_client: redis.Redis, queue_name: str, kind: str
) -> None:
    keys = queue_keys(queue_name)
    redis_client.xgroup_create(keys.stream, "g", id="0", mkstream=True)
    before = [_dead_letter(redis_client, queue_name, "g", f'"m{i}"') for i in range(3)]
    if kind == "sync":
        client = AppendsDuringWalk.from_url(redis_url)
        replayed = Manager(redis=client).replay_dead_letters(queue_name)
        appended = client.appended
        client.close()
    else:

        async def replay() -> tuple[int, str | None]:
            aclient = AsyncAppendsDuringWalk.from_url(redis_url)
            try:
                return await queues.aio.Manager(redis=aclient).replay_dead_letters(
                    queue_name
                ), aclient.appended
            finally:
                await aclient.aclose()

        replayed, appended = asyncio.run(replay())
    assert appended is not None, "the walk read the dead-letter stream"
    assert replayed == len(before)
    left = [i.decode() for i, _ in redis_client.xrange(keys.dead)]
    assert left == [appended], "the dead letter appended during the walk stays dead"
    payloads = [f[b"payload"] for _, f in redis_client.xrange(keys.stream)]
    assert payloads == [b'"m0"', b'"m1"', b'"m2"']


@pytest.mark.runs_on("single", "cluster")
def test_a_replay_to_a_group_that_no_longer_exists_is_refused_naming_it(
    manager: Manager, redis_client: redis.Redis, queue_name: str
) -> None:
    keys = queue_keys(queue_name)
    redis_client.xgroup_create(keys.stream, "billing", id="0", mkstream=True)
    kept = _dead_letter(redis_client, queue_name, "billing", '"ok"')
    gone = _dead_letter(redis_client, queue_name, "shipping", '"lost"')
    with pytest.raises(ReplayRefused) as refused:
        manager.replay_dead_letters(queue_name)
    assert "'shipping'" in str(refused.value)
    assert refused.value.replayed == 1
    assert refused.value.refused == {"shipping": [gone]}
    assert [i.decode() for i, _ in redis_client.xrange(keys.dead)] == [gone], "left in place"
    assert [f[b"payload"] for _, f in redis_client.xrange(keys.stream)] == [b'"ok"']
    assert kept not in [i.decode() for i, _ in redis_client.xrange(keys.dead)]


@pytest.mark.runs_on("single", "cluster")
def test_a_dead_letter_of_a_priority_level_is_replayed_to_that_level(
    redis_url: str, manager: Manager, queue_name: str
) -> None:
    failures = []

    def fail(message: Message) -> None:
        failures.append(message.payload)
        raise ValueError("boom")

    producer = queues.Producer(queue_name, redis=redis_url, priority=2)
    producer.publish({"n": 1})
    producer.close()
    failing = Consumer(queue_name, "g", fail, redis_url, level=2, max_deliveries=1, **FAST)
    failing.run(burst=True)
    failing.close()
    assert failures == [{"n": 1}]
    assert len(manager.dead_letters(queue_name)) == 1

    assert manager.replay_dead_letters(queue_name) == 1
    handled = Recorder()
    consumer = Consumer(queue_name, "g", handled, redis_url, level=2, **FAST)
    consumer.run(burst=True)
    consumer.close()
    wait_for(lambda: handled.count == 1, 5, message="the level-2 group handles the replay")
    assert handled.payloads() == [{"n": 1}]
    assert manager.dead_letters(queue_name) == []
