"""Phase one of the info read: the stream, its groups, dead-letter and delayed sizes,
registration, duplicates and priority levels of each queue or plain stream."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from queues.entries import text
from queues.info.replies import no_such_key, reason
from queues.keys import MAX_PRIORITY, REGISTRY, QueueKeys, queue_keys


@dataclass(frozen=True, slots=True)
class PlainKeys:
    """A plain stream to read: any stream key, not a StreamWarden queue (no dead letters,
    delayed set, registry entry, duplicates or priority levels to read beside it)."""

    name: str  # the key as text, for display
    stream: str | bytes  # the exact key


def plain_keys(key: str | bytes) -> PlainKeys:
    if isinstance(key, bytes):
        name = key.decode("utf-8", errors="replace")
    elif isinstance(key, str):
        name = key
    else:
        raise ValueError(f"a stream key must be str or bytes, got {key!r}")
    if not key:
        raise ValueError("a stream key must not be empty")
    return PlainKeys(name, key)


Target = QueueKeys | PlainKeys


@dataclass(frozen=True, slots=True)
class StreamPart:
    """Phase-one replies of one queue or plain stream."""

    keys: Target
    stream: Any  # dict or exception (no such key)
    groups: Any  # list of dicts or exception
    dead: int | None
    delayed: int | None
    registered: bool
    levels: tuple[int, ...] = ()  # priority levels above 0 (read for the main stream only)
    error: str = ""  # why the queue is unreadable (its keys hold something else)
    duplicates: Mapping[str, int] = field(default_factory=dict)  # per group, see below

    @property
    def plain(self) -> bool:
        return isinstance(self.keys, PlainKeys)


def phase_one(pipe: Any, keys: Target) -> None:
    """Queue the phase-one commands of ``keys`` on ``pipe`` (``replies_of(keys)`` replies)."""
    pipe.xinfo_stream(keys.stream)
    if isinstance(keys, PlainKeys):
        pipe.xinfo_groups(keys.stream)
        return
    pipe.xinfo_groups(keys.stream)
    pipe.xlen(keys.dead)
    pipe.zcard(keys.delayed)
    pipe.sismember(REGISTRY, keys.name)
    pipe.smembers(keys.levels)
    pipe.hgetall(keys.duplicates)


PHASE_ONE_REPLIES = 7


PLAIN_PHASE_ONE_REPLIES = 2


def replies_of(keys: Target) -> int:
    return PLAIN_PHASE_ONE_REPLIES if isinstance(keys, PlainKeys) else PHASE_ONE_REPLIES


def read_duplicates(reply: Any) -> dict[str, int]:
    """Per-group counts of deliveries not run again; a foreign value never breaks info()."""
    if not isinstance(reply, dict):
        return {}  # wrong key type: the counts are unknown, the rest of the queue is not
    counts = {}
    for group, value in reply.items():
        try:
            counts[text(group)] = int(value)
        except (TypeError, ValueError):
            continue
    return counts


def _levels(members: Any) -> tuple[int, ...]:
    found = set()
    for member in members:
        try:
            level = int(member)
        except ValueError:
            continue  # a member our producers never write (foreign data): not a level
        if 0 < level <= MAX_PRIORITY:
            found.add(level)
    return tuple(sorted(found))


def read_phase_one(keys: Target, replies: Sequence[Any]) -> StreamPart:
    """The part of one queue; never raises: a key of the wrong type makes it unreadable."""
    if isinstance(keys, PlainKeys):
        return _read_plain(keys, replies)
    stream, groups, dead, delayed, registered, levels, duplicates = replies
    checked = (
        (keys.stream, stream),
        (keys.stream, groups),
        (keys.dead, dead),
        (keys.delayed, delayed),
        (keys.levels, levels),
    )
    for key, value in checked:
        if isinstance(value, Exception) and not (key == keys.stream and no_such_key(value)):
            return StreamPart(keys, stream, [], 0, 0, False, (), reason(key, value))
    # The registry is a shared set: if someone broke it, no queue is "registered".
    is_registered = False if isinstance(registered, Exception) else bool(registered)
    return StreamPart(
        keys,
        stream,
        groups,
        int(dead),
        int(delayed),
        is_registered,
        _levels(levels),
        duplicates=read_duplicates(duplicates),
    )


def _read_plain(keys: PlainKeys, replies: Sequence[Any]) -> StreamPart:
    stream, groups = replies
    for value in (stream, groups):
        if isinstance(value, Exception) and not no_such_key(value):
            why = (
                f"{keys.name}: not a stream (WRONGTYPE)"
                if "WRONGTYPE" in str(value)
                else reason(keys.name, value)
            )
            return StreamPart(keys, stream, [], None, None, False, (), why)
    return StreamPart(keys, stream, groups, None, None, False)


def read_phase_ones(all_keys: Sequence[Target], replies: Sequence[Any]) -> list[StreamPart]:
    """The parts of several queues whose phase-one commands were queued in this order."""
    parts = []
    offset = 0
    for keys in all_keys:
        size = replies_of(keys)
        parts.append(read_phase_one(keys, replies[offset : offset + size]))
        offset += size
    return parts


def level_keys(part: StreamPart) -> list[Target]:
    """The keys of the priority levels of a main-stream part (highest first)."""
    return [queue_keys(part.keys.name, level) for level in reversed(part.levels)]


def raw_groups(part: StreamPart) -> list[Any]:
    if part.error or isinstance(part.groups, Exception) or isinstance(part.stream, Exception):
        return []
    return list(part.groups)


def group_names(part: StreamPart) -> list[str]:
    return [text(g["name"]) for g in raw_groups(part)]
