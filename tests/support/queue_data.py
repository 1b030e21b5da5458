"""Test helpers that put real data into a real Redis the way the library lays it out."""

from __future__ import annotations

import json

import redis


def stream_key(queue: str) -> str:
    return f"sw:{{{queue}}}:stream"


def publish(url: str, queue: str, payloads: list[object]) -> list[str]:
    """Publish through the library Producer when it exists, else XADD in its layout."""
    try:
        from queues import Producer  # type: ignore[attr-defined]
    except ImportError:
        Producer = None  # noqa: N806
    if Producer is not None:
        return list(Producer(queue, redis=url).publish_many(payloads))
    client = redis.Redis.from_url(url)
    pipe = client.pipeline(transaction=False)
    for payload in payloads:
        pipe.xadd(
            stream_key(queue), {"payload": json.dumps(payload), "ctype": "json", "headers": "{}"}
        )
    pipe.sadd("sw:queues", queue)
    ids = [i.decode() for i in pipe.execute()[:-1]]
    client.close()
    return ids


def create_group(url: str, queue: str, group: str, start: str = "0") -> None:
    client = redis.Redis.from_url(url)
    client.xgroup_create(stream_key(queue), group, id=start, mkstream=True)
    client.close()


def read(url: str, queue: str, group: str, consumer: str, count: int) -> int:
    """Deliver ``count`` entries to ``consumer`` without acking them (they become pending)."""
    client = redis.Redis.from_url(url)
    reply = client.xreadgroup(group, consumer, {stream_key(queue): ">"}, count=count)
    client.close()
    return sum(len(entries) for _, entries in reply or [])


def ack_all(url: str, queue: str, group: str) -> None:
    client = redis.Redis.from_url(url)
    pending = client.xpending_range(stream_key(queue), group, "-", "+", 10_000)
    ids = [p["message_id"] for p in pending]
    if ids:
        client.xack(stream_key(queue), group, *ids)
    client.close()


def dead_letter(url: str, queue: str, payload: object, group: str = "billing") -> str:
    """Store one dead letter the way the library records a failure; returns its id."""
    client = redis.Redis.from_url(url)
    entry_id = client.xadd(
        f"sw:{{{queue}}}:dead",
        {
            "payload": json.dumps(payload),
            "ctype": "json",
            "headers": "{}",
            "reason": "max_deliveries",
            "error": "ValueError: boom",
            "traceback": "",
            "deliveries": "5",
            "original_id": "1-0",
            "group": group,
            "consumer": "worker-1",
            "failed_at": "1",
        },
    )
    client.close()
    return entry_id.decode()


def monitor_cycle() -> None:
    """One full monitor cycle: what /metrics and the stored view then show."""
    from dashboard.monitor.engine import Monitor

    monitor = Monitor()
    try:
        monitor.cycle()
    finally:
        monitor.shutdown()
