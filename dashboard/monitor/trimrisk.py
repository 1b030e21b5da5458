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


@dataclass(frozen=True)
class GroupProgress:
    """What the library reports of one group, reduced to what the risk needs."""

    name: str
    lag: int | None
    pending: int


def assess(*, maxlen: int, length: int, groups: Sequence[GroupProgress]) -> TrimRisk:
    """The risk of trimming a stream of ``length`` entries to ``maxlen``."""
    maxlen = max(0, int(maxlen))
    removes = max(0, length - maxlen)
    per_group = []
    for g in groups:
        if g.lag is None:
            undelivered = None if removes else 0
            certain_pending = 0
            keep: int | None = None
        else:
            undelivered = max(0, g.lag - maxlen)
            certain_pending = min(g.pending, max(0, g.lag + g.pending - maxlen))
            keep = g.lag + g.pending
        possible = bool(removes) and g.pending > certain_pending
        per_group.append(GroupTrimRisk(g.name, undelivered, certain_pending, possible, keep))
    known = [g.undelivered for g in per_group if g.undelivered is not None]
    unknown = any(g.undelivered is None for g in per_group)
    undelivered_total = None if unknown and not any(known) else max(known, default=0)
    pending_at_least = max((g.pending_at_least for g in per_group), default=0)
    pending_possible = any(g.pending_possible for g in per_group)
    keeps = [g.keep_at_least for g in per_group if g.keep_at_least is not None]
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
        safe_maxlen_at_least=max(keeps) if keeps else None,
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
    groups = [GroupProgress(g.name, g.lag, g.pending) for g in getattr(snapshot, "groups", ())]
    return assess(maxlen=maxlen, length=int(getattr(snapshot, "length", 0)), groups=groups)
