"""What the Manager sends and what a reply means, without I/O: shared by queues.Manager
and queues.aio.Manager, so both twins decide alike."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import redis

from queues import events
from queues import info as info_mod
from queues.entries import text
from queues.exceptions import ConsumerBusy, GroupNotFound, NotAStream, StreamNotFound
from queues.keys import MAX_PRIORITY, QueueKeys, queue_keys, validate_name
from queues.types import Event, PendingEntry, PlainStream, QueueInfo

#: maxmemory-policy is read again after this many seconds.
EVICTION_POLICY_TTL = 60.0
#: XPENDING commands per pipeline of pending_many (bounds one reply's size in memory).
PENDING_BATCH = 200
#: How often read_events looks for new events of streams spread over cluster nodes.
EVENT_POLL_INTERVAL = 0.05

# ---------------------------------------------------------------------- streams and groups


def checked_stream_info(result: QueueInfo, where: str) -> QueueInfo:
    """``result`` of one plain stream, or the error saying why there is none."""
    if "WRONGTYPE" in result.unreadable:
        raise NotAStream(f"{result.unreadable} at {where}")
    if not result.exists:
        raise StreamNotFound(f"no key {result.name!r} at {where}")
    return result


def stream_error(key: Any, exc: Exception, where: str) -> Exception:
    """NotAStream for WRONGTYPE, else the error as Redis gave it."""
    if "WRONGTYPE" in str(exc):
        return NotAStream(f"key {key!r} is not a stream (WRONGTYPE) at {where}")
    return exc


def purge_call(name: str) -> tuple[list[str], list[Any]]:
    """Keys and arguments of purge.lua for queue ``name`` (every priority level)."""
    keys = queue_keys(name)
    levels = [queue_keys(name, level) for level in range(1, MAX_PRIORITY + 1)]
    return [
        keys.stream,
        keys.delayed,
        keys.events,
        *(key for level in levels for key in (level.stream, level.delayed)),
    ], [name, events.MAX_EVENTS]


def dedup_markers(keys: QueueKeys, scanned: Iterable[Any]) -> list[str]:
    """The de-duplication marker keys of this queue among SCAN results of its pattern
    (the glob may also match another queue whose name extends this one)."""
    prefix = keys.dedup("")
    return [key for key in map(text, scanned) if key.startswith(prefix)]


def own_keys(keys: QueueKeys, scanned: Iterable[bytes | str]) -> list[bytes | str]:
    """The keys of this queue among SCAN results of its pattern, as SCAN returned them: a
    key of a foreign client with a binary name is deleted as it is, not as decoded text."""
    prefix = keys.prefix.encode()
    return [k for k in scanned if (k if isinstance(k, bytes) else k.encode()).startswith(prefix)]


def delete_consumer_call(
    queue: str, group: str, consumer: str, force: bool, hand_to: str | None
) -> tuple[list[str], list[str]]:
    """Checked keys and arguments of delete_consumer.lua."""
    if hand_to is not None:
        validate_name(hand_to, "consumer name")
        if hand_to == consumer:
            raise ValueError("hand_to must name another consumer than the one deleted")
    return [queue_keys(queue).stream], [group, consumer, "1" if force else "0", hand_to or ""]


def consumer_deleted(consumer: str, reply: Any, force: bool, hand_to: str | None) -> int:
    """Pending entries the deleted consumer owned; ConsumerBusy when it was refused."""
    _existed, owned, _handed = reply
    if int(owned) and not force and hand_to is None:
        raise ConsumerBusy(consumer, int(owned))
    return int(owned)


def group_error(queue: str, group: str, exc: redis.ResponseError) -> Exception:
    """GroupNotFound for NOGROUP, else the error as Redis gave it."""
    if "NOGROUP" in str(exc):
        return GroupNotFound(f"no group {group!r} on queue {queue!r}")
    return exc


def policy_of(reply: Any) -> str | None:
    """maxmemory-policy from a CONFIG GET reply; None when absent."""
    policy = reply.get("maxmemory-policy") or reply.get(b"maxmemory-policy")
    return text(policy) if policy else None


# ---------------------------------------------------------------------- pending entries


def pending_targets(
    groups: Sequence[tuple[str | PlainStream, str | bytes]],
) -> list[tuple[str | bytes, str | bytes]]:
    """(stream key, group) of each (queue or PlainStream, group)."""
    return [
        (target.key if isinstance(target, PlainStream) else queue_keys(target).stream, group)
        for target, group in groups
    ]


def pending_lists(
    groups: Sequence[tuple[str | PlainStream, str | bytes]], replies: list[Any], where: str
) -> list[list[PendingEntry]]:
    """pending_many's reading of XPENDING replies: GroupNotFound names the first group that
    is gone, NotAStream a key of another type."""
    out = []
    for (target, group), rows in zip(groups, replies, strict=True):
        if isinstance(rows, Exception):
            name = target.key if isinstance(target, PlainStream) else target
            if "NOGROUP" in str(rows):
                raise GroupNotFound(f"no group {group!r} on {name!r}") from rows
            raise stream_error(name, rows, where) from rows
        out.append(info_mod.pending_entries(rows))
    return out


def pending_samples(replies: list[Any]) -> list[list[PendingEntry] | None]:
    """pending_sample's reading: None for a reply that is an error or does not decode."""
    out: list[list[PendingEntry] | None] = []
    for rows in replies:
        try:
            out.append(None if isinstance(rows, Exception) else info_mod.pending_entries(rows))
        except info_mod.DECODE_ERRORS:
            out.append(None)
    return out


# ---------------------------------------------------------------------- events


def event_groups_made(missing: list[str], group: str, replies: list[Any]) -> set[tuple[str, str]]:
    """(events key, group) pairs that exist after XGROUP CREATE; other errors raise."""
    for result in replies:
        if isinstance(result, Exception) and "BUSYGROUP" not in str(result):
            raise result
    return {(key, group) for key in missing}


def events_by_queue(acked: Iterable[Event]) -> dict[str, list[str]]:
    by_queue: dict[str, list[str]] = {}
    for event in acked:
        by_queue.setdefault(event.queue, []).append(event.id)
    return by_queue


def claimed_events(streams: dict[str, str], replies: list[Any]) -> list[Event]:
    """Events of XAUTOCLAIM replies, one reply per key of ``streams`` in order."""
    found = []
    for key, reply in zip(streams, replies, strict=True):
        for entry_id, fields in reply[1]:
            if fields:
                found.append(event_of(entry_id, fields, streams[key]))
    return found


def read_events_of(reply: Any, streams: dict[str, str]) -> tuple[list[Event], dict[str, list[Any]]]:
    """Events of an XREADGROUP reply, and per key the ids to acknowledge because the capped
    events stream dropped them while they were pending."""
    found: list[Event] = []
    gone: dict[str, list[Any]] = {}
    items = reply.items() if isinstance(reply, dict) else (reply or [])
    for key, rows in items:
        queue = streams[text(key)]
        for entry_id, fields in rows:
            if fields:
                found.append(event_of(entry_id, fields, queue))
            else:
                gone.setdefault(text(key), []).append(entry_id)
    return found, gone


def event_of(entry_id: Any, fields: Any, queue: str) -> Event:
    event = events.parse(entry_id, fields)
    if event.queue != queue:  # events written by hand may lack the queue field
        event = dataclasses.replace(event, queue=queue)
    return event
