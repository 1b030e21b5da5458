"""Trim-loss risk: would trimming a stream to MAXLEN drop entries a group still needs?

The library's safe trim (queues/lua/trim.lua, ``Manager.trim``) keeps everything from
min(first undelivered id, oldest pending id) over all groups. Trimming to MAXLEN N instead
keeps the newest N entries, whatever the groups' progress. This module compares the two
from what the library already reports per group (``QueueInfo``: length; ``GroupInfo``:
lag = entries after last-delivered-id, pending = delivered but unacknowledged):

- the newest ``lag`` entries are undelivered, so MAXLEN N drops ``lag - N`` of them;
- pending entries are older than every undelivered one, so at most ``N - lag`` of them
  survive: at least ``lag + pending - N`` are dropped. More may go if acknowledged entries
  sit between pending ones (then ``pending_possible``); telling that exactly needs the
  position of each pending id (see the library request in notes/django-contract.md).

Pure: plain numbers in, a frozen value out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class GroupTrimRisk:
    group: str
    undelivered: int | None  # undelivered entries MAXLEN drops; None = lag unknown
    pending_at_least: int  # unacked entries MAXLEN surely drops
    pending_possible: bool  # ... and whether it may drop more of them
    keep_at_least: int | None  # the MAXLEN below which this group surely loses entries


@dataclass(frozen=True)
class TrimRisk:
    maxlen: int
    length: int
    removes: int  # entries a trim to maxlen removes
    undelivered: int | None
    pending_at_least: int
    pending_possible: bool
    safe_maxlen_at_least: int | None
    level: str  # ok | warn (unacked entries may go) | alert (entries surely lost)
    detail: str
    groups: tuple[GroupTrimRisk, ...]


class Progress(Protocol):
    """What the risk reads of a group (a ``GroupProgress``, or the monitor's snapshot)."""

    @property
    def name(self) -> str: ...
    @property
    def lag(self) -> int | None: ...
    @property
    def pending(self) -> int: ...


@dataclass(frozen=True)
class GroupProgress:
    """What the library reports of one group, reduced to what the risk needs."""

    name: str
    lag: int | None
    pending: int


def assess(*, maxlen: int, length: int, groups: Sequence[Progress]) -> TrimRisk:
    """The risk of trimming a stream of ``length`` entries to ``maxlen``."""
    maxlen = max(0, int(maxlen))
    removes = max(0, length - maxlen)
    per_group = []
    # The totals over the groups, gathered in the same pass (the monitor assesses every
    # queue with a MAXLEN every cycle): the worst known undelivered count and whether one
    # is unknown, the most surely lost pending, whether more may go, the largest keep.
    undelivered_most: int | None = None
    known_any = unknown = pending_possible = False
    pending_most: int | None = None
    keep_most: int | None = None
    for g in groups:
        lag, pending = g.lag, g.pending
        if lag is None:
            undelivered = None if removes else 0
            certain_pending = 0
            keep: int | None = None
        else:
            undelivered = max(0, lag - maxlen)
            certain_pending = min(pending, max(0, lag + pending - maxlen))
            keep = lag + pending
        possible = bool(removes) and pending > certain_pending
        per_group.append(GroupTrimRisk(g.name, undelivered, certain_pending, possible, keep))
        if undelivered is None:
            unknown = True
        else:
            known_any = known_any or bool(undelivered)
            if undelivered_most is None or undelivered > undelivered_most:
                undelivered_most = undelivered
        if pending_most is None or certain_pending > pending_most:
            pending_most = certain_pending
        pending_possible = pending_possible or possible
        if keep is not None and (keep_most is None or keep > keep_most):
            keep_most = keep
    undelivered_total = (
        None if unknown and not known_any else (0 if undelivered_most is None else undelivered_most)
    )
    pending_at_least = 0 if pending_most is None else pending_most
    if undelivered_total or pending_at_least:
        level = "alert"
    elif pending_possible or (unknown and removes):
        level = "warn"
    else:
        level = "ok"
    return TrimRisk(
        maxlen=maxlen,
        length=length,
        removes=removes,
        undelivered=undelivered_total,
        pending_at_least=pending_at_least,
        pending_possible=pending_possible,
        safe_maxlen_at_least=keep_most,
        level=level,
        detail=_detail(removes, undelivered_total, pending_at_least, pending_possible, unknown),
        groups=tuple(per_group),
    )


def _detail(
    removes: int, undelivered: int | None, pending: int, possible: bool, unknown: bool
) -> str:
    if not removes:
        return "nothing to trim: the stream is not longer than MAXLEN"
    parts = []
    if undelivered:
        parts.append(f"{undelivered} undelivered entries would be lost")
    if pending:
        parts.append(f"at least {pending} unacknowledged entries would be lost")
    elif possible:
        parts.append(
            "unacknowledged entries may be lost (pending entries sit in the trimmed range)"
        )
    if unknown:
        parts.append("a group's lag is unknown, so undelivered entries may be lost")
    return "; ".join(parts) or f"removes {removes} entries every group has received and acked"


def for_snapshot(snapshot: object, maxlen: int | None) -> TrimRisk | None:
    """The risk at ``maxlen`` for a monitor QueueSnapshot (None without a MAXLEN)."""
    if maxlen is None or not getattr(snapshot, "exists", False):
        return None
    groups: Sequence[Progress] = getattr(snapshot, "groups", ())  # name, lag, pending each
    return assess(maxlen=maxlen, length=int(getattr(snapshot, "length", 0)), groups=groups)
