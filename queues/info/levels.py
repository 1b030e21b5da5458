"""Merging a queue's priority levels into one QueueInfo: per group, the sums of the
levels' counts and the oldest of their ages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from queues.info.replies import age_ms
from queues.types import ConsumerInfo, GroupInfo, QueueInfo


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
