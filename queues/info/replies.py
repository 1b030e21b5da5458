"""Reading single replies: entry ids and times, pending entries, stream entries, and
what a reply that does not decode raises and how its reason reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis

from queues.entries import text
from queues.types import PendingEntry, StreamEntry

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


def int_or_none(value: Any) -> int | None:
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


def no_such_key(value: Any) -> bool:
    return isinstance(value, Exception) and "no such key" in str(value).lower()


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
