"""Tickets of the delayed set: delayed publishes and parked retries, moved by move_due.lua."""

from __future__ import annotations

import json
import math
import time
from datetime import datetime, timedelta

from queues.entries import Fields


def message_ticket(fields: Fields, ticket_id: str) -> str:
    """Ticket that publishes ``fields`` when due. Values that are not UTF-8 text travel
    hex-encoded (the JSON ticket holds text only) and the mover decodes them."""
    flat: list[str] = []
    hex_index: int | None = None
    for name, value in fields.items():
        flat.append(name)
        if isinstance(value, str):
            flat.append(value)
            continue
        try:
            flat.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            if hex_index is not None:
                raise ValueError("only one binary field per ticket is supported") from None
            hex_index = len(flat) + 1  # 1-based Lua index of the value
            flat.append(value.hex())
    ticket: dict[str, object] = {"k": "msg", "u": ticket_id, "f": flat}
    if hex_index is not None:
        ticket["x"] = hex_index
    return json.dumps(ticket, separators=(",", ":"))


def retry_ticket(group: str, entry_id: str) -> str:
    """Ticket that releases a parked retry of ``entry_id`` to ``group`` when due; the same
    member for the same entry, so parking twice only moves the due time."""
    return json.dumps({"k": "retry", "g": group, "id": entry_id}, separators=(",", ":"))


def retry_ticket_prefix(group: str) -> str:
    """``retry_ticket(group, entry_id)`` up to the entry id: claim.lua appends ``id"}`` to
    find the ticket of a parked retry (entry ids need no JSON escaping)."""
    return retry_ticket(group, "")[: -len('"}')]


def due_ms(delay: float | timedelta | None, at: datetime | float | None) -> int | None:
    """Epoch ms when a delayed message is due; None for "now" (no or non-positive delay)."""
    if delay is not None and at is not None:
        raise ValueError("pass delay or at, not both")
    now = time.time()
    if delay is not None:
        seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            raise ValueError(f"delay must be a finite number of seconds, got {delay!r}")
        # Rounded up: a message is never due before its delay (truncated, it was up to a
        # millisecond early).
        return math.ceil((now + seconds) * 1000) if seconds > 0 else None
    if at is not None:
        when = at.timestamp() if isinstance(at, datetime) else float(at)
        return math.ceil(when * 1000) if when > now else None
    return None
