"""Manager.info_many reads every queue it can: a bad object costs its own queue or group."""

from __future__ import annotations

import redis

from queues import Manager, Producer
from queues import info as info_mod
from queues.keys import queue_keys


def _healthy(redis_url: str, name: str) -> None:
    producer = Producer(name, redis=redis_url)
    producer.publish_many([{"n": i} for i in range(3)])
    producer.close()


def test_a_bad_object_makes_only_its_queue_or_group_unreadable(
    redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    good, wrong_dead, wrong_stream, bad_levels, binary = (
        f"{queue_name}-{suffix}" for suffix in ("good", "dead", "stream", "levels", "binary")
    )
    for name in (good, wrong_dead, bad_levels, binary):
        _healthy(redis_url, name)
    manager = Manager(redis=redis_url)
    manager.create_group(good, "billing", start="0")
    redis_client.delete(queue_keys(wrong_dead).dead)
    redis_client.set(queue_keys(wrong_dead).dead, "x")
    redis_client.set(queue_keys(wrong_stream).stream, "x")
    redis_client.sadd(queue_keys(bad_levels).levels, "garbage", "3")
    # A group whose name is not UTF-8, and one whose name is huge: any client can make them.
    redis_client.xgroup_create(queue_keys(binary).stream, b"\xff\xfe-g\x00", id="0")
    redis_client.xgroup_create(queue_keys(binary).stream, "h" * 100_000, id="0")

    infos = {
        i.name: i for i in manager.info_many([good, wrong_dead, wrong_stream, bad_levels, binary])
    }

    assert infos[good].unreadable == "" and infos[good].length == 3
    assert infos[good].group("billing").lag == 3
    assert "WRONGTYPE" in infos[wrong_dead].unreadable
    assert queue_keys(wrong_dead).dead in infos[wrong_dead].unreadable
    assert "WRONGTYPE" in infos[wrong_stream].unreadable
    assert infos[bad_levels].unreadable == "" and infos[bad_levels].levels == (3,)
    assert infos[binary].unreadable == ""
    lags = sorted(g.lag or 0 for g in infos[binary].groups)
    assert lags == [3, 3] and all(not g.unreadable for g in infos[binary].groups)
    manager.close()


def test_a_group_deleted_between_the_two_rounds_is_unreadable_the_rest_is_read(
    redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    _healthy(redis_url, queue_name)
    keys = queue_keys(queue_name)
    redis_client.xgroup_create(keys.stream, "stays", id="0")
    redis_client.xgroup_create(keys.stream, "goes", id="0")
    # a consumer with a pending entry: phase two asks XPENDING and XINFO CONSUMERS
    redis_client.xreadgroup("goes", "w", {keys.stream: ">"}, count=1)
    pipe = redis_client.pipeline(transaction=False)
    info_mod.phase_one(pipe, keys)
    part = info_mod.read_phase_one(keys, pipe.execute(raise_on_error=False))
    redis_client.xgroup_destroy(keys.stream, "goes")
    pipe = redis_client.pipeline(transaction=False)
    info_mod.phase_two(pipe, part)

    info = info_mod.build(part, pipe.execute(raise_on_error=False), now_ms=0)

    assert info.unreadable == ""
    assert info.group("stays").lag == 3 and not info.group("stays").unreadable
    assert info.group("stays").oldest_undelivered_ms is not None
    assert "NOGROUP" in info.group("goes").unreadable


def test_a_stream_deleted_mid_cycle_makes_its_groups_unreadable(
    redis_url: str, queue_name: str, redis_client: redis.Redis
) -> None:
    _healthy(redis_url, queue_name)
    keys = queue_keys(queue_name)
    redis_client.xgroup_create(keys.stream, "g", id="0")
    redis_client.xreadgroup("g", "w", {keys.stream: ">"}, count=1)
    pipe = redis_client.pipeline(transaction=False)
    info_mod.phase_one(pipe, keys)
    part = info_mod.read_phase_one(keys, pipe.execute(raise_on_error=False))
    redis_client.delete(keys.stream)
    pipe = redis_client.pipeline(transaction=False)
    info_mod.phase_two(pipe, part)

    info = info_mod.build(part, pipe.execute(raise_on_error=False), now_ms=0)

    assert info.group("g").unreadable
