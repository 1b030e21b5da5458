"""Phase two of the info read: per group the XPENDING summary, XINFO CONSUMERS and
the first undelivered entry, for the groups phase one found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from queues.entries import text
from queues.info.phase_one import StreamPart, raw_groups


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
    for group in raw_groups(part):
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
    for group, plan in zip(raw_groups(part), plans, strict=True):
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
