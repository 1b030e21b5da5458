"""Decode XINFO / XPENDING replies into QueueInfo, GroupInfo and PendingEntry.

info() needs two pipelined round trips per batch of queues: first the stream, its groups,
dead-letter and delayed sizes; then per group the XPENDING summary, XINFO CONSUMERS and
the first undelivered entry. The command lists and the decoding live here so that a sync
and an asyncio driver run the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import redis

from queues.entries import text
from queues.keys import MAX_PRIORITY, REGISTRY, RETRY_CONSUMER, QueueKeys, queue_keys
from queues.types import ConsumerInfo, GroupInfo, PendingEntry, QueueInfo, StreamEntry

#: A consumer idle less than this (ms since its last read or claim) counts as active.
DEFAULT_ACTIVE_IDLE_MS = 30_000


def id_ms(entry_id: bytes | str | None) -> int | None:
    """Milliseconds part of a stream id."""
    if not entry_id:
        return None
    try:
        return int(text(entry_id).split("-", 1)[0])
    except ValueError:
        return None


def age_ms(entry_id: bytes | str | None, now_ms: int) -> int | None:
    """Age of an entry from its id, at server time ``now_ms``."""
    ms = id_ms(entry_id)
    return None if ms is None else max(0, now_ms - ms)


def time_ms(reply: Sequence[int]) -> int:
    """TIME reply (seconds, microseconds) as ms."""
    return int(reply[0]) * 1000 + int(reply[1]) // 1000


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


#: What a reply that does not decode raises: an error reply (WRONGTYPE, NOGROUP), or a
#: value of the wrong shape. A queue or group failing with one of these is recorded as
#: unreadable; connection errors are not caught (the whole server is unavailable).
DECODE_ERRORS: tuple[type[Exception], ...] = (
    redis.ResponseError,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
)
#: Longest reason kept for an unreadable queue or group (replies may quote foreign names).
MAX_REASON = 300


def reason(what: str, exc: BaseException) -> str:
    """A short, printable reason: ``<what>: <error>``."""
    detail = str(exc) or type(exc).__name__
    out = f"{what}: {detail}"
    return out if len(out) <= MAX_REASON else out[: MAX_REASON - 1] + "…"


def _no_such_key(value: Any) -> bool:
    return isinstance(value, Exception) and "no such key" in str(value).lower()


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
        if isinstance(value, Exception) and not (key == keys.stream and _no_such_key(value)):
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
        if isinstance(value, Exception) and not _no_such_key(value):
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


def _raw_groups(part: StreamPart) -> list[Any]:
    if part.error or isinstance(part.groups, Exception) or isinstance(part.stream, Exception):
        return []
    return list(part.groups)


def group_names(part: StreamPart) -> list[str]:
    return [text(g["name"]) for g in _raw_groups(part)]


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """Which phase-two replies of a queue belong to one group (offsets; None = not asked)."""

    pending: int | None  # XPENDING summary; not asked when XINFO GROUPS says 0 pending
    consumers: int | None  # XINFO CONSUMERS; not asked when the group has no consumer
    undelivered: int | None  # first entry after last-delivered-id; not asked when lag is 0


def _is_zero(value: Any) -> bool:
    return isinstance(value, int) and value == 0


def plan_two(part: StreamPart) -> tuple[list[GroupPlan], int]:
    """The phase-two commands of ``part`` as per-group offsets, and how many there are.

    Only what phase one does not already tell is asked: an incident (no consumer, nothing
    pending, every group at the same id) costs one command per queue instead of three per
    group. Groups at the same last-delivered id share one XRANGE. Pure: the sender and the
    reader of the replies compute the same plan.
    """
    plans: list[GroupPlan] = []
    count = 0
    ranges: dict[Any, int] = {}
    for group in _raw_groups(part):
        pending = consumers = undelivered = None
        if not _is_zero(group.get("pending")):
            pending, count = count, count + 1
        if not _is_zero(group.get("consumers")):
            consumers, count = count, count + 1
        if not _is_zero(group.get("lag")):
            last = group.get("last-delivered-id")
            if last not in ranges:
                ranges[last], count = count, count + 1
            undelivered = ranges[last]
        plans.append(GroupPlan(pending, consumers, undelivered))
    return plans, count


def phase_two(pipe: Any, part: StreamPart) -> None:
    """Queue, per group, what ``plan_two`` asks: XPENDING summary, XINFO CONSUMERS and the
    first undelivered entry."""
    plans, _ = plan_two(part)
    queued: set[int] = set()
    for group, plan in zip(_raw_groups(part), plans, strict=True):
        # The raw name, not its decoded text: a name that is not UTF-8 must reach Redis
        # byte for byte, or the group is not found.
        name = group["name"]
        if plan.pending is not None:
            pipe.xpending(part.keys.stream, name)
        if plan.consumers is not None:
            pipe.xinfo_consumers(part.keys.stream, name)
        if plan.undelivered is not None and plan.undelivered not in queued:
            queued.add(plan.undelivered)
            pipe.xrange(part.keys.stream, f"({text(group['last-delivered-id'])}", "+", count=1)


def _unreadable_queue(part: StreamPart, now_ms: int, why: str) -> QueueInfo:
    return QueueInfo(
        name=part.keys.name,
        exists=True,
        length=0,
        groups=(),
        dead=None if part.plain else 0,
        delayed=None if part.plain else 0,
        time_ms=now_ms,
        unreadable=why,
        plain=part.plain,
    )


def _unreadable_group(group: Any, why: str) -> GroupInfo:
    try:
        name = text(group["name"])
    except DECODE_ERRORS:
        name = "?"
    return GroupInfo(
        name=name,
        consumers=(),
        active_consumers=0,
        pending=0,
        lag=None,
        oldest_pending_ms=None,
        last_delivered_id="",
        entries_read=None,
        unreadable=why,
    )


def build(
    part: StreamPart,
    group_replies: Sequence[Any],
    now_ms: int,
    active_idle_ms: int = DEFAULT_ACTIVE_IDLE_MS,
) -> QueueInfo:
    """QueueInfo from the replies of both phases. Never raises on what it reads: a queue
    or group whose replies do not decode comes back with ``unreadable`` set."""
    if part.error:
        return _unreadable_queue(part, now_ms, part.error)
    try:
        return _build(part, group_replies, now_ms, active_idle_ms)
    except DECODE_ERRORS as exc:
        return _unreadable_queue(part, now_ms, reason(text(part.keys.stream), exc))


def _build(
    part: StreamPart, group_replies: Sequence[Any], now_ms: int, active_idle_ms: int
) -> QueueInfo:
    keys = part.keys
    stream = part.stream
    if isinstance(stream, Exception):
        return QueueInfo(
            name=keys.name,
            exists=False,
            length=0,
            groups=(),
            dead=part.dead,
            delayed=part.delayed,
            time_ms=now_ms,
            plain=part.plain,
        )
    groups: list[GroupInfo] = []
    plans, _ = plan_two(part)

    def reply(offset: int | None, default: Any) -> Any:
        if offset is None:
            return default
        value = group_replies[offset]
        if isinstance(value, Exception):
            raise value
        return value

    for group, plan in zip(_raw_groups(part), plans, strict=True):
        try:
            summary = reply(plan.pending, {"pending": 0, "min": None, "consumers": []})
            consumers_raw = reply(plan.consumers, [])
            undelivered = reply(plan.undelivered, [])
            found = _group(
                group, summary, consumers_raw, undelivered, now_ms, active_idle_ms, part.plain
            )
        except DECODE_ERRORS as exc:
            # e.g. NOGROUP: the group (or the stream) was deleted between the two rounds
            found = _unreadable_group(group, reason("group", exc))
        if part.plain:
            found = replace(found, parked=None, duplicates=None)
        else:
            found = replace(found, duplicates=part.duplicates.get(found.name, 0))
        groups.append(found)
    first = stream.get("first-entry")
    last = stream.get("last-entry")
    undelivered_ages = [g.oldest_undelivered_ms for g in groups if g.oldest_undelivered_ms]
    return QueueInfo(
        name=keys.name,
        exists=True,
        length=int(stream["length"]),
        groups=tuple(groups),
        dead=part.dead,
        delayed=part.delayed,
        first_id=text(first[0]) if first else None,
        last_id=text(last[0]) if last else None,
        entries_added=_int_or_none(stream.get("entries-added")),
        oldest_undelivered_ms=max(undelivered_ages) if undelivered_ages else None,
        time_ms=now_ms,
        levels=part.levels,
        plain=part.plain,
    )


def build_many(
    parts: Sequence[StreamPart],
    group_replies: Sequence[Any],
    now_ms: int,
    active_idle_ms: int = DEFAULT_ACTIVE_IDLE_MS,
) -> list[QueueInfo]:
    """QueueInfo of each part, from one phase-two pipeline run over all of them in order."""
    out = []
    offset = 0
    for part in parts:
        _, count = plan_two(part)
        out.append(build(part, group_replies[offset : offset + count], now_ms, active_idle_ms))
        offset += count
    return out


def merge_levels(main: QueueInfo, levels: Sequence[QueueInfo]) -> QueueInfo:
    """One QueueInfo for a queue with priority levels: counts summed, ages the oldest, groups
    and consumers merged by name (so a message stuck at any level shows in the totals).
    Ids (first, last, last delivered) stay those of the main stream; dead letters are shared."""
    if main.unreadable:
        return main
    broken = [info.unreadable for info in levels if info.unreadable]
    if broken:
        return replace(main, unreadable=f"priority level: {broken[0]}")
    present = [info for info in levels if info.exists]
    if not present:
        return main
    everything = [main, *present] if main.exists else present
    names = list(dict.fromkeys(g.name for info in everything for g in info.groups))
    groups = []
    for name in names:
        parts = [_group_at(info, name) for info in everything]
        groups.append(_merge_groups([g for g in parts if g is not None]))
    undelivered = [i.oldest_undelivered_ms for i in everything if i.oldest_undelivered_ms]
    return replace(
        main,
        exists=True,
        length=sum(info.length for info in everything),
        groups=tuple(groups),
        delayed=(main.delayed or 0) + sum(info.delayed or 0 for info in present),
        entries_added=_sum_known([info.entries_added for info in everything]),
        oldest_undelivered_ms=max(undelivered) if undelivered else None,
    )


def _group_at(info: QueueInfo, name: str) -> GroupInfo | None:
    """The group on one level's stream; a group the level's stream does not have yet sees
    all its entries as undelivered (a priorities consumer joins a level at 0; a group
    that never reads the level must show them as lag, not hide them)."""
    for group in info.groups:
        if group.name == name:
            return group
    if not info.exists:
        return None
    return GroupInfo(
        name=name,
        consumers=(),
        active_consumers=0,
        pending=0,
        lag=info.length,
        oldest_pending_ms=None,
        last_delivered_id="0-0",
        entries_read=0,
        oldest_undelivered_ms=(
            age_ms(info.first_id, info.time_ms) if info.first_id and info.time_ms else None
        ),
    )


def _merge_groups(parts: Sequence[GroupInfo]) -> GroupInfo:
    first = parts[0]
    if len(parts) == 1:
        return first
    for part in parts:
        if part.unreadable:
            return part
    consumers: dict[str, ConsumerInfo] = {}
    for part in parts:
        for c in part.consumers:
            seen = consumers.get(c.name)
            consumers[c.name] = (
                c
                if seen is None
                else ConsumerInfo(
                    c.name,
                    seen.pending + c.pending,
                    min(seen.idle_ms, c.idle_ms),
                    seen.active or c.active,
                )
            )
    oldest = [g.oldest_pending_ms for g in parts if g.oldest_pending_ms is not None]
    undelivered = [g.oldest_undelivered_ms for g in parts if g.oldest_undelivered_ms]
    return replace(
        first,
        consumers=tuple(consumers.values()),
        active_consumers=sum(1 for c in consumers.values() if c.active),
        pending=sum(g.pending for g in parts),
        lag=_sum_known([g.lag for g in parts]),
        oldest_pending_ms=max(oldest) if oldest else None,
        entries_read=_sum_known([g.entries_read for g in parts]),
        oldest_undelivered_ms=max(undelivered) if undelivered else None,
        parked=sum(g.parked or 0 for g in parts),
        duplicates=max(g.duplicates or 0 for g in parts),  # one counter per group, all levels
    )


def _sum_known(values: Sequence[int | None]) -> int | None:
    """The sum, or None when any part is unknown (a lag Redis cannot compute)."""
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def _group(
    group: Mapping[str, Any],
    summary: Mapping[str, Any],
    consumers_raw: Sequence[Mapping[str, Any]],
    undelivered: Sequence[Any],
    now_ms: int,
    active_idle_ms: int,
    plain: bool = False,
) -> GroupInfo:
    consumers = []
    for c in consumers_raw:
        name = text(c["name"])
        if name == RETRY_CONSUMER and not plain:
            continue
        idle = int(c["idle"])
        consumers.append(ConsumerInfo(name, int(c["pending"]), idle, idle < active_idle_ms))
    # On a plain stream nothing parks entries: a consumer called __retry__ is a real one.
    parked = (
        None
        if plain
        else sum(
            int(c["pending"])
            for c in summary.get("consumers") or []
            if text(c["name"]) == RETRY_CONSUMER
        )
    )
    pending = int(summary.get("pending") or 0)
    return GroupInfo(
        name=text(group["name"]),
        consumers=tuple(consumers),
        active_consumers=sum(1 for c in consumers if c.active),
        pending=pending,
        lag=_int_or_none(group.get("lag")),
        oldest_pending_ms=age_ms(summary.get("min"), now_ms) if pending else None,
        last_delivered_id=text(group["last-delivered-id"]),
        entries_read=_int_or_none(group.get("entries-read")),
        oldest_undelivered_ms=age_ms(undelivered[0][0], now_ms) if undelivered else None,
        parked=parked,
    )


def stream_entry(entry_id: Any, fields: Any) -> StreamEntry:
    """An XRANGE row as a StreamEntry (fields kept as bytes, in their order)."""
    pairs = fields.items() if isinstance(fields, Mapping) else []
    return StreamEntry(
        text(entry_id), tuple((_as_bytes(name), _as_bytes(value)) for name, value in pairs)
    )


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def pending_entries(rows: Sequence[Mapping[str, Any]]) -> list[PendingEntry]:
    """XPENDING detail rows as PendingEntry values."""
    return [
        PendingEntry(
            id=text(r["message_id"]),
            consumer=text(r["consumer"]),
            idle_ms=int(r["time_since_delivered"]),
            deliveries=int(r["times_delivered"]),
        )
        for r in rows
    ]
