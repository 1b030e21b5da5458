"""The contenders of the throughput benchmark: the same work (publish N small JSON messages,
then consume and ack all N with a no-op handler from one consumer) done by each library.

Each contender is two functions: ``produce(url, stream, payloads)`` and
``consume(url, stream, n)``; both return only when the work is done.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass

import redis

BATCH = 100


@dataclass(frozen=True)
class Contender:
    name: str
    produce: Callable[[str, str, list[dict]], None]
    consume: Callable[[str, str, int], None]
    note: str = ""
    #: measured against the raw redis.asyncio loop rather than the raw redis-py one
    asyncio: bool = False


# --- (a) raw redis-py: the ceiling -------------------------------------------------------


def raw_produce(url: str, stream: str, payloads: list[dict]) -> None:
    client = redis.Redis.from_url(url)
    client.xgroup_create(stream, "bench", id="0", mkstream=True)
    for start in range(0, len(payloads), BATCH):
        pipe = client.pipeline(transaction=False)
        for payload in payloads[start : start + BATCH]:
            pipe.xadd(stream, {"payload": json.dumps(payload)})
        pipe.execute()


def raw_consume(url: str, stream: str, n: int) -> None:
    client = redis.Redis.from_url(url)
    done = 0
    while done < n:
        reply = client.xreadgroup("bench", "c1", {stream: ">"}, count=BATCH, block=1000)
        if not reply:
            continue
        ids = []
        for entry_id, fields in reply[0][1]:
            json.loads(fields[b"payload"])  # decode, as every library does
            ids.append(entry_id)
        client.xack(stream, "bench", *ids)
        done += len(ids)


def raw_async_consume(url: str, stream: str, n: int) -> None:
    import redis.asyncio as aioredis

    async def main() -> None:
        client = aioredis.Redis.from_url(url)
        done = 0
        while done < n:
            reply = await client.xreadgroup("bench", "c1", {stream: ">"}, count=BATCH, block=1000)
            if not reply:
                continue
            ids = []
            for entry_id, fields in reply[0][1]:
                json.loads(fields[b"payload"])
                ids.append(entry_id)
            await client.xack(stream, "bench", *ids)
            done += len(ids)
        await client.aclose()

    asyncio.run(main())


# --- (c) walrus consumer groups ----------------------------------------------------------


def walrus_produce(url: str, stream: str, payloads: list[dict]) -> None:
    from walrus import Database

    db = Database.from_url(url)
    group = db.consumer_group("bench", [stream], consumer="c1")
    group.create()
    target = db.Stream(stream)
    for payload in payloads:  # walrus has no batch add: one round trip per message
        target.add({"payload": json.dumps(payload)})


def walrus_consume(url: str, stream: str, n: int) -> None:
    from walrus import Database

    db = Database.from_url(url)
    group = db.consumer_group("bench", [stream], consumer="c1")
    done = 0
    while done < n:
        batches = group.read(count=BATCH, block=1000)
        for _name, messages in batches:
            ids = []
            for entry_id, fields in messages:
                json.loads(fields[b"payload"])
                ids.append(entry_id)
            if ids:
                getattr(group, stream).ack(*ids)
                done += len(ids)


# --- (c) taskiq-redis stream broker ------------------------------------------------------


def taskiq_produce(url: str, stream: str, payloads: list[dict]) -> None:
    from taskiq.message import BrokerMessage
    from taskiq_redis import RedisStreamBroker

    async def main() -> None:
        broker = RedisStreamBroker(
            url, queue_name=stream, consumer_group_name="bench", consumer_id="0"
        )
        await broker.startup()
        for start in range(0, len(payloads), BATCH):
            await asyncio.gather(
                *(
                    broker.kick(
                        BrokerMessage(
                            task_id=str(start + i),
                            task_name="noop",
                            message=json.dumps(p).encode(),
                            labels={},
                        )
                    )
                    for i, p in enumerate(payloads[start : start + BATCH])
                )
            )
        await broker.shutdown()

    asyncio.run(main())


def taskiq_consume(url: str, stream: str, n: int) -> None:
    from taskiq_redis import RedisStreamBroker

    async def main() -> None:
        broker = RedisStreamBroker(
            url, queue_name=stream, consumer_group_name="bench", consumer_id="0", xread_count=BATCH
        )
        await broker.startup()
        done = 0
        async for message in broker.listen():
            json.loads(message.data)
            await message.ack()  # taskiq acks one message per round trip
            done += 1
            if done >= n:
                break
        await broker.shutdown()

    asyncio.run(main())


RAW = Contender(
    "raw redis-py (pipelined XADD; XREADGROUP COUNT 100 + XACK)", raw_produce, raw_consume
)
RAW_ASYNC = Contender(
    "raw redis.asyncio (XREADGROUP COUNT 100 + XACK)",
    raw_produce,
    raw_async_consume,
    "the asyncio ceiling",
    asyncio=True,
)
PEERS = [
    Contender(
        "walrus 0.9 consumer group",
        walrus_produce,
        walrus_consume,
        "no batch publish: one XADD round trip per message",
    ),
    Contender(
        "taskiq-redis RedisStreamBroker",
        taskiq_produce,
        taskiq_consume,
        "one XACK round trip per message",
        asyncio=True,
    ),
]
