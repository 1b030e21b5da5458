"""A command that was sent is never sent again: after a dropped connection it may have run,
and re-sending an XADD would publish it twice (redis-py >= 6 re-sends on any connection
error). The connection is dropped while the command is known to have run: during the WAIT
that follows the XADDs on the same connection."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import redis

from queues import Producer, QueueUnavailable
from queues.aio.connection import connect as aio_connect
from queues.connection import connect
from queues.exceptions import ConfigurationError
from queues.keys import queue_keys
from tests.queues.conftest import wait_for
from tests.support.redis_process import RedisServer


def _kill_the_waiting_client(server: RedisServer) -> None:
    """CLIENT KILL the connection blocked in WAIT (no replica ever answers it)."""
    admin = server.client()
    waiting = wait_for(
        lambda: [c for c in admin.client_list() if c["cmd"] == "wait"], 10, message="in WAIT"
    )
    admin.client_kill_filter(_id=waiting[0]["id"])


def test_a_pipeline_cut_off_after_it_ran_is_not_sent_again(private_redis: RedisServer) -> None:
    client = connect(private_redis.url)
    outcome: list[Any] = []

    def send() -> None:
        pipe = client.pipeline(transaction=False)
        pipe.xadd("s", {"n": 1})
        pipe.xadd("s", {"n": 2})
        pipe.wait(1, 1500)
        try:
            outcome.append(pipe.execute())
        except Exception as exc:  # noqa: BLE001 - the outcome is the assertion
            outcome.append(exc)

    thread = threading.Thread(target=send)
    thread.start()
    _kill_the_waiting_client(private_redis)
    thread.join(15)
    assert private_redis.client().xlen("s") == 2, "each XADD ran once"
    assert isinstance(outcome[0], redis.ConnectionError), outcome
    assert client.ping(), "the next command connects again"
    client.close()


def test_a_command_cut_off_after_it_ran_is_not_sent_again(private_redis: RedisServer) -> None:
    client = connect(private_redis.url)
    client.xadd("s", {"n": 1})
    outcome: list[Any] = []

    def wait() -> None:  # WAIT alone: re-sent, it would block again and answer 0
        try:
            outcome.append(client.wait(1, 1500))
        except Exception as exc:  # noqa: BLE001 - the outcome is the assertion
            outcome.append(exc)

    thread = threading.Thread(target=wait)
    thread.start()
    _kill_the_waiting_client(private_redis)
    thread.join(15)
    assert isinstance(outcome[0], redis.ConnectionError), outcome
    client.close()


async def test_the_asyncio_client_does_not_send_a_pipeline_again(
    private_redis: RedisServer,
) -> None:
    client = aio_connect(private_redis.url)
    pipe = client.pipeline(transaction=False)
    pipe.xadd("s", {"n": 1})
    pipe.wait(1, 1500)
    task = asyncio.ensure_future(pipe.execute())
    await asyncio.to_thread(_kill_the_waiting_client, private_redis)
    with pytest.raises(redis.ConnectionError):
        await asyncio.wait_for(task, 15)
    assert private_redis.client().xlen("s") == 1, "the XADD ran once"
    assert await client.ping(), "the next command connects again"
    await client.aclose()


def test_a_durable_publish_many_cut_off_in_its_wait_publishes_each_message_once(
    private_redis: RedisServer, queue_name: str
) -> None:
    producer = Producer(queue_name, redis=private_redis.url, durable=True, durable_timeout=1.5)
    outcome: list[Any] = []

    def publish() -> None:
        try:
            outcome.append(producer.publish_many([{"n": n} for n in range(10)]))
        except Exception as exc:  # noqa: BLE001 - the outcome is the assertion
            outcome.append(exc)

    thread = threading.Thread(target=publish)
    thread.start()
    _kill_the_waiting_client(private_redis)
    thread.join(15)
    assert private_redis.client().xlen(queue_keys(queue_name).stream) == 10, "each once"
    assert isinstance(outcome[0], QueueUnavailable), outcome
    producer.close()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("redis+cluster://127.0.0.1:7000/3", "only database 0"),
        ("redis+cluster://:hunter2@127.0.0.1:x", "bad port"),
        ("redis+sentinel://127.0.0.1:26379/svc/zero", "db must be a number"),
        ("redis+sentinel://:hunter2@127.0.0.1:26379/svc?colour=red", "unknown option"),
        ("http://127.0.0.1:6379", "invalid Redis URL"),
    ],
)
def test_the_asyncio_connect_says_what_is_wrong_with_a_url(url: str, why: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        aio_connect(url)
    assert why in str(info.value) and "hunter2" not in str(info.value)


def test_the_asyncio_connect_makes_a_cluster_client_of_a_cluster_url() -> None:
    from redis.asyncio.cluster import RedisCluster

    from queues.aio.connection import address

    client = aio_connect("redis+cluster://:hunter2@127.0.0.1:7000,127.0.0.1:7001")
    assert isinstance(client, RedisCluster)
    assert address(client) == "cluster:127.0.0.1:7000,127.0.0.1:7001"
    assert client.connection_kwargs["socket_timeout"] == 2.0
