"""Ingestion of library events (claimed, dead_lettered) into alert rows.

The events are read THROUGH a consumer group ("streamwarden-dashboard") on each queue's
events stream, so an event stays pending in Redis until its row is committed: a monitor that
dies mid-ingestion leaves the rest pending, and the next ingester (same or another consumer
name) picks them up. Rows are unique on (queue, event id), so an event delivered twice never
makes a second row. Acks happen only after the database commit.

Key names and event types come from the library (``queues.keys``, ``queues.events``).
TODO(library): the library has no consumer-group reader for its events yet, so the group
reads are made here with redis-py; switch when it offers one (contract, Requests).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

import redis
from django.db import transaction

from alerts.models import AlertKind
from alerts.services import EventAlert, display_queue_name, record_event_alerts
from queues import events as library_events
from queues.keys import queue_keys

logger = logging.getLogger(__name__)

GROUP = "streamwarden-dashboard"
#: Events per read; a storm is ingested in bounded chunks.
BATCH = 500
#: Upper bound per call and queue so one call never stalls the monitor for long.
MAX_PER_CALL = 20_000
#: New rows of one batch pushed to live pages (the newest ones).
LIVE_PER_BATCH = 20
#: Pending events of another (dead) dashboard consumer are taken over after this idle time.
TAKEOVER_IDLE_MS = 30_000

EVENT_KINDS = {
    library_events.CLAIMED: AlertKind.CLAIMED,
    library_events.DEAD_LETTERED: AlertKind.DEAD_LETTERED,
}

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def events_key(queue: str) -> str:
    """The library's per-queue events stream (one hash tag per queue)."""
    return queue_keys(queue).events


def _client(redis_url: str) -> redis.Redis:
    with _clients_lock:
        client = _clients.get(redis_url)
        if client is None:
            client = redis.Redis.from_url(
                redis_url, socket_connect_timeout=2.0, socket_timeout=10.0
            )
            _clients[redis_url] = client
        return client


def _ensure_group(client: redis.Redis, key: str) -> None:
    try:
        client.xgroup_create(key, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _store(queue: str, entries: Iterable[tuple[Any, dict[Any, Any]]]) -> tuple[list[str], int]:
    """Create the rows of one batch in one transaction; returns (event ids, rows created)."""
    name = display_queue_name(library_queue=queue)
    ids: list[str] = []
    events: list[EventAlert] = []
    for raw_id, raw_fields in entries:
        event_id = _text(raw_id)
        ids.append(event_id)
        if not raw_fields:  # entry deleted from the stream while pending
            continue
        fields = {_text(k): _text(v) for k, v in raw_fields.items()}
        kind = EVENT_KINDS.get(fields.get("type", ""))
        if kind is None:
            continue  # other library events (retried, ...) are not alerts
        events.append(
            EventAlert(
                kind=kind,
                queue=name,
                event_id=event_id,
                group=fields.get("group", ""),
                message_id=fields.get("id", ""),
                details=fields,
            )
        )
    with transaction.atomic():
        created = record_event_alerts(events=events, publish_newest=LIVE_PER_BATCH)
    return ids, created


def _ingest_batch(client: redis.Redis, queue: str, key: str, entries: list[Any]) -> tuple[int, int]:
    if not entries:
        return 0, 0
    ids, created = _store(queue, entries)
    # Only after the commit: an ingester killed before this line leaves them pending.
    client.xack(key, GROUP, *ids)
    return len(ids), created


def _read(client: redis.Redis, key: str, consumer_name: str, start: str) -> list[Any]:
    reply: Any = client.xreadgroup(GROUP, consumer_name, {key: start}, count=BATCH)
    if not reply:
        return []
    return list(reply[0][1])


def _ingest_queue(client: redis.Redis, queue: str, consumer_name: str) -> int:
    key = events_key(queue)
    _ensure_group(client, key)
    created = 0
    handled = 0
    # 1. Our own pending events (we died after reading, before acking).
    while handled < MAX_PER_CALL:
        n, c = _ingest_batch(client, queue, key, _read(client, key, consumer_name, "0"))
        handled, created = handled + n, created + c
        if n == 0:
            break
    # 2. Pending events of another dashboard consumer that went away.
    cursor = "0-0"
    while handled < MAX_PER_CALL:
        reply = client.xautoclaim(
            key, GROUP, consumer_name, TAKEOVER_IDLE_MS, start_id=cursor, count=BATCH
        )
        cursor = _text(reply[0])
        n, c = _ingest_batch(client, queue, key, list(reply[1]))
        handled, created = handled + n, created + c
        if cursor == "0-0":
            break
    # 3. New events.
    while handled < MAX_PER_CALL:
        n, c = _ingest_batch(client, queue, key, _read(client, key, consumer_name, ">"))
        handled, created = handled + n, created + c
        if n < BATCH:
            break
    return created


def ingest_events(
    *, redis_url: str, queues: list[str], consumer_name: str, block_ms: int = 0
) -> int:
    """Turn new claimed / dead_lettered events of ``queues`` into alert rows; rows created.

    Blocking: only when nothing was found and ``block_ms`` > 0, for at most ``block_ms``.
    Thread-safety: one call at a time per ``consumer_name``. Idempotent on (queue, event id).
    Raises redis-py connection errors when the Redis is down (the monitor reports those).
    """
    client = _client(redis_url)
    created = 0
    for queue in queues:
        try:
            created += _ingest_queue(client, queue, consumer_name)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # The stream or group vanished (data-losing restart): recreate and go on.
            logger.warning("events group of %s vanished; recreating it", queue)
            created += _ingest_queue(client, queue, consumer_name)
    if created == 0 and block_ms > 0 and queues:
        streams: Any = {events_key(q): ">" for q in queues}
        reply: Any = client.xreadgroup(GROUP, consumer_name, streams, count=BATCH, block=block_ms)
        by_key = {events_key(q): q for q in queues}
        for raw_key, entries in reply or []:
            key = _text(raw_key)
            created += _ingest_batch(client, by_key[key], key, list(entries))[1]
    return created
