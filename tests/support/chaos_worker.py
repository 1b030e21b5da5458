"""Processes of the chaos suite, run as ``python -m tests.support.chaos_worker produce|consume ...``.

Consumers record every handled message in the same Redis (``chaos:processed``, a hash of
``producer:seq`` -> times handled), so the record survives Redis restarts with AOF on.
"""

from __future__ import annotations

import sys
import time

import redis

from queues import Consumer, Message, Producer, QueueUnavailable

GROUP = "chaos"
PROCESSED = "chaos:processed"


def produce(url: str, queue: str, producer_no: int, count: int) -> None:
    producer = Producer(queue, redis=url)
    batch = 50
    for start in range(0, count, batch):
        payloads = [
            {"p": producer_no, "s": s, "poison": s % 97 == 13}
            for s in range(start, min(start + batch, count))
        ]
        while True:  # retry until Redis took the batch: published means in Redis
            try:
                producer.publish_many(payloads)
                break
            except QueueUnavailable:
                time.sleep(0.1)
    print(f"published {count}", flush=True)


def consume(url: str, queue: str, name: str) -> None:
    record = redis.Redis.from_url(url, socket_timeout=5)

    def handler(message: Message) -> None:
        payload = message.payload
        if payload.get("poison"):
            raise ValueError(f"poison message {payload['p']}:{payload['s']}")
        record.hincrby(PROCESSED, f"{payload['p']}:{payload['s']}", 1)

    Consumer(
        queue,
        GROUP,
        handler,
        url,
        name=name,
        claim_idle=1.0,
        max_deliveries=4,
        backoff_base=0.05,
        backoff_max=0.2,
        batch_size=50,
        block_ms=200,
    ).run()


if __name__ == "__main__":
    role, *args = sys.argv[1:]
    if role == "produce":
        produce(args[0], args[1], int(args[2]), int(args[3]))
    elif role == "consume":
        consume(args[0], args[1], args[2])
    else:
        raise SystemExit(f"unknown role {role!r}")
