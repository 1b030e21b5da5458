"""Queue names may hold glob characters (``* ? [ ] \\``): key patterns built from them must
match that queue's keys only, never another queue's."""

from __future__ import annotations

import pytest
import redis

from queues import Consumer
from queues.commands import orphaned_replies
from queues.keys import glob_escape, queue_keys
from tests.queues.conftest import FAST


@pytest.mark.parametrize("glob", ["*", "?", "[b]", "\\b"])
def test_the_reply_sweep_of_a_glob_named_queue_leaves_other_queues_reply_streams(
    redis_url: str, redis_client: redis.Redis, queue_name: str, glob: str
) -> None:
    other = f"{queue_name}b"  # "q-…b" is matched by "q-…*", "q-…?", "q-…[b]" and "q-…\b"
    globbed = f"{queue_name}{glob}"
    live = queue_keys(other)
    redis_client.set(live.producer_alive("p1"), "1", px=60_000)
    redis_client.xadd(live.reply("p1"), {"token": "t", "id": "1-1", "status": "done"})
    dead_reply = queue_keys(globbed).reply("gone")
    redis_client.xadd(dead_reply, {"token": "t", "id": "1-1", "status": "done"})

    consumer = Consumer(globbed, "g", lambda m: None, redis_url, **FAST)
    consumer.run(burst=True)
    consumer.close()

    assert redis_client.exists(live.reply("p1")), "another queue's live reply stream stays"
    assert not redis_client.exists(dead_reply), "the queue's own orphaned reply stream goes"


def test_glob_escape_makes_every_glob_character_literal(redis_client: redis.Redis) -> None:
    name = "a*b?c[d]e\\f^g"
    redis_client.set(name, "1")
    redis_client.set("aXb?c[d]e\\f^g", "1")
    assert redis_client.keys(glob_escape(name)) == [name.encode()]
    redis_client.delete(name, "aXb?c[d]e\\f^g")


def test_only_reply_streams_with_the_queue_exact_prefix_count_as_orphaned() -> None:
    keys = queue_keys("a*")
    found = [b"sw:{ab}:reply:p1", keys.reply("p2").encode()]
    assert orphaned_replies(keys, found, [0, 0]) == [keys.reply("p2")]
