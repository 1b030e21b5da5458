"""Safe trimming (trim.lua): remove only entries every group has received and acknowledged."""

from __future__ import annotations

from dataclasses import dataclass

from queues.entries import text
from queues.exceptions import TrimRefused


@dataclass(frozen=True, slots=True)
class TrimResult:
    removed: int
    min_id_kept: str | None


def args(approximate: bool, maxlen: int | None = None) -> list[str]:
    if maxlen is not None and (not isinstance(maxlen, int) or maxlen < 0):
        raise ValueError(f"maxlen must be an integer >= 0, got {maxlen!r}")
    return ["1" if approximate else "0", "" if maxlen is None else str(maxlen)]


def parse_reply(queue: str, reply: list) -> TrimResult:
    """Decode trim.lua's reply; TrimRefused when the stream has no groups."""
    removed, min_id = reply
    if int(removed) < 0:
        raise TrimRefused(
            f"queue {queue!r} has no consumer groups: no entry is known to be delivered, "
            "so none can be trimmed safely (create a group or purge the queue)"
        )
    return TrimResult(int(removed), text(min_id) if min_id else None)
