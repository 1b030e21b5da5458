"""Safe trimming (trim.lua): remove only entries every group has received and acknowledged."""

from __future__ import annotations

from dataclasses import dataclass

from queues.entries import text
from queues.exceptions import TrimRefused


@dataclass(frozen=True, slots=True)
class TrimResult:
    removed: int


def args(approximate: bool, maxlen: int | None = None) -> list[str]:
    if maxlen is not None and (not isinstance(maxlen, int) or maxlen < 0):
        raise ValueError(f"maxlen must be an integer >= 0, got {maxlen!r}")
    return ["1" if approximate else "0", "" if maxlen is None else str(maxlen)]


def parse_reply(queue: str, reply: list) -> TrimResult:
    """Decode trim.lua's reply; TrimRefused when the stream has no groups."""
    removed = reply[0]  # trim.lua also answers the first id kept; nothing reads it
    if int(removed) < 0:
        raise TrimRefused(
            f"queue {queue!r} has no consumer groups: no entry is known to be delivered, "
            "so none can be trimmed safely (create a group or purge the queue)"
        )
    return TrimResult(int(removed))


@dataclass(frozen=True, slots=True)
class GroupTrimRisk:
    """Entries a MAXLEN trim would take from one group before it has them done."""

    group: str
    undelivered: int
    pending: int


@dataclass(frozen=True, slots=True)
class TrimRisk:
    """What trimming to MAXLEN ``maxlen`` would drop (trim_risk.lua, exact unless capped)."""

    maxlen: int
    removes: int
    first_kept_id: str | None
    safe_min_id: str | None  # entries below it are done by every group
    groups: tuple[GroupTrimRisk, ...]
    exact: bool  # False when a count hit the walk limit (then it is a lower bound)

    @property
    def undelivered(self) -> int:
        return sum(g.undelivered for g in self.groups)

    @property
    def pending(self) -> int:
        return sum(g.pending for g in self.groups)

    @property
    def safe(self) -> bool:
        """True when the trim would drop nothing any group still needs."""
        return self.exact and self.undelivered == 0 and self.pending == 0


def parse_risk(maxlen: int, reply: list) -> TrimRisk:
    removes, first_kept, safe_min, groups, exact = reply
    return TrimRisk(
        maxlen=maxlen,
        removes=int(removes),
        first_kept_id=text(first_kept) if first_kept else None,
        safe_min_id=text(safe_min) if safe_min else None,
        groups=tuple(GroupTrimRisk(text(g), int(u), int(p)) for g, u, p in groups),
        exact=bool(int(exact)),
    )
