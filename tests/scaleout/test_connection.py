"""``redis=`` takes a URL or a client for one server, a Sentinel-managed master or a cluster."""

from __future__ import annotations

import pytest
import redis
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel, SentinelConnectionPool

from queues import ConfigurationError, Consumer, Manager, Producer, QueueUnavailable
from queues.connection import address, connect, mask_url, socket_timeout
from tests.queues.conftest import FAST, Recorder
from tests.support.redis_cluster import RedisClusterFixture
from tests.support.redis_sentinel import RedisSentinelFixture


def test_a_sentinel_url_names_every_sentinel_the_service_and_the_db() -> None:
    client = connect("redis+sentinel://:s3cret@127.0.0.1:26379,127.0.0.1:26380/orders/2")
    assert isinstance(client, redis.Redis)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "orders"
    assert (pool.connection_kwargs["db"], pool.connection_kwargs["password"]) == (2, "s3cret")
    assert address(client) == "sentinel:orders@127.0.0.1:26379,127.0.0.1:26380"
    assert socket_timeout(client) == 2.0


def test_a_cluster_url_gives_a_cluster_client_with_bounded_timeouts(
    redis_cluster: RedisClusterFixture,
) -> None:
    client = connect(redis_cluster.url)
    assert isinstance(client, RedisCluster)
    ports = sorted(n.port for n in client.get_primaries())
    assert ports == sorted(s.port for s in redis_cluster.servers)
    assert address(client).startswith("cluster:127.0.0.1:")
    assert socket_timeout(client) == 2.0
    client.close()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://x:1", "unknown scheme 'http://'"),
        ("redis+sentinel://127.0.0.1:26379", "service_name"),
        ("redis+sentinel://127.0.0.1:26379/svc/zero", "db must be a number"),
        ("redis+sentinel://127.0.0.1:26379/svc?colour=red", "unknown option"),
        ("redis+cluster://127.0.0.1:7000/3", "only database 0"),
        ("redis+cluster://127.0.0.1:port", "bad port"),
        ("127.0.0.1:6379", "unknown scheme '(none)'"),
    ],
)
def test_a_bad_url_says_what_is_wrong_and_which_forms_are_expected(url: str, why: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        connect(url)
    message = str(info.value)
    assert why in message
    for scheme in ("redis://", "rediss://", "unix://", "redis+sentinel://", "redis+cluster://"):
        assert scheme in message


def test_a_password_never_shows_in_an_error_or_an_address() -> None:
    with pytest.raises(ConfigurationError) as info:
        connect("redis+sentinel://:hunter2@127.0.0.1:26379/svc/x")
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in mask_url("redis+cluster://:hunter2@h1:1,h2:2")
    with pytest.raises(QueueUnavailable) as unavailable:
        connect("redis+cluster://:hunter2@127.0.0.1:1", connect_timeout=0.1)
    assert "cluster:127.0.0.1:1" in str(unavailable.value)
    assert "hunter2" not in str(unavailable.value)


def test_messages_go_round_a_sentinel_managed_master(
    redis_sentinel: RedisSentinelFixture, queue_name: str
) -> None:
    redis_sentinel.flush()
    producer = Producer(queue_name, redis=redis_sentinel.url)
    producer.publish_many([1, 2, 3])
    recorder = Recorder()
    Consumer(queue_name, "g", recorder, redis_sentinel.url, **FAST).run(burst=True)
    assert sorted(recorder.payloads()) == [1, 2, 3]
    assert Manager(redis=redis_sentinel.url).info(queue_name).group("g").pending == 0
    producer.close()


def test_clients_made_by_the_caller_are_accepted_even_with_decoded_responses(
    redis_sentinel: RedisSentinelFixture,
    redis_cluster: RedisClusterFixture,
    queue_name: str,
) -> None:
    sentinels = [("127.0.0.1", s.port) for s in redis_sentinel.sentinels]
    master = Sentinel(sentinels).master_for(redis_sentinel.service, decode_responses=True)
    cluster = redis_cluster.client(decode_responses=True)
    for client in (master, cluster):
        producer = Producer(queue_name, redis=client)
        entry_id = producer.publish({"x": 1})
        manager = Manager(redis=client)
        assert manager.info(queue_name).last_id == entry_id
        assert isinstance(manager.client, type(client))
    assert address(connect(master)).startswith("sentinel:swmaster@")
