"""Building QueueInfo and GroupInfo from the replies of both phases; a queue or group
whose replies do not decode is recorded as unreadable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from queues.entries import text
from queues.info.phase_one import StreamPart, raw_groups
from queues.info.phase_two import plan_two
from queues.info.replies import (
    DECODE_ERRORS,
    DEFAULT_ACTIVE_IDLE_MS,
    age_ms,
    int_or_none,
    reason,
)
from queues.keys import RETRY_CONSUMER
from queues.types import ConsumerInfo, GroupInfo, QueueInfo


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

    for group, plan in zip(raw_groups(part), plans, strict=True):
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
        entries_added=int_or_none(stream.get("entries-added")),
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
        lag=int_or_none(group.get("lag")),
        oldest_pending_ms=age_ms(summary.get("min"), now_ms) if pending else None,
        last_delivered_id=text(group["last-delivered-id"]),
        entries_read=int_or_none(group.get("entries-read")),
        oldest_undelivered_ms=age_ms(undelivered[0][0], now_ms) if undelivered else None,
        parked=parked,
    )
