"""Browse the entries of a plain stream on its queue page: newest first, a page at a time,
fields shown as escaped text (foreign data may be binary, not UTF-8, not JSON)."""

from __future__ import annotations

import re
from typing import Any

from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.library import manager_for
from queues.types import StreamEntry

PAGE_SIZE = 25
#: Characters of one field shown at most (a huge value must not make a huge page).
FIELD_CHARS = 2000
_ENTRY_ID = re.compile(r"\A\d{1,20}(-\d{1,20})?\Z")


class BadEntryId(ValueError):
    """An entry id given to browse or search by is not a stream id."""


def escaped(value: bytes) -> str:
    """``value`` as text a person can read: UTF-8 as is, undecodable bytes as ``\\xNN``,
    control and invisible characters escaped (a NUL or newline cannot hide or fake
    anything); cut to FIELD_CHARS. HTML escaping is the template's job."""
    text = value[: FIELD_CHARS * 4].decode("utf-8", errors="backslashreplace")
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}")
    shown = "".join(out)
    return shown if len(shown) <= FIELD_CHARS else shown[:FIELD_CHARS] + "…"


def _checked(entry_id: str) -> str:
    entry_id = (entry_id or "").strip()
    if not _ENTRY_ID.match(entry_id):
        raise BadEntryId(f"not a stream entry id: {entry_id[:40]!r} (e.g. 1700000000000-0)")
    return entry_id


def _row(entry: StreamEntry, payloads: bool) -> dict[str, Any]:
    """One entry; field values (the message data) only with ``payloads``, names always."""
    return {
        "id": entry.id,
        "fields": [
            {"name": escaped(k), "value": escaped(v) if payloads else None} for k, v in entry.fields
        ],
        "hidden": not payloads,
    }


def entry_page(
    *,
    definition: QueueDefinition,
    before: str = "",
    after: str = "",
    entry: str = "",
    payloads: bool = False,
) -> dict[str, Any]:
    """One page of entries, newest first: the newest ones, those older than ``before``,
    those newer than ``after``, or the one entry ``entry`` (search by id). ``older`` /
    ``newer`` are the ids to pass back as ``before`` / ``after`` for the next page (None
    at either end). Field values only with ``payloads`` (the view_payloads permission).
    Raises BadEntryId for an id that is not one."""
    manager = manager_for(definition.effective_redis_url())
    key = definition.queue_name
    older: str | None = None
    newer: str | None = None
    if entry:
        found = manager.stream_entries(key, start=_checked(entry), end=_checked(entry), count=1)
        return {
            "entries": [_row(e, payloads) for e in found],
            "search": entry,
            "older": None,
            "newer": None,
        }
    if after:
        rows = manager.stream_entries(key, start=f"({_checked(after)}", count=PAGE_SIZE + 1)
        more = len(rows) > PAGE_SIZE
        rows = list(reversed(rows[:PAGE_SIZE]))
        newer = rows[0].id if more and rows else None
        older = rows[-1].id if rows else None
    else:
        start = f"({_checked(before)}" if before else "+"
        rows = manager.stream_entries(key, start=start, end="-", count=PAGE_SIZE + 1, reverse=True)
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        older = rows[-1].id if more and rows else None
        newer = rows[0].id if before and rows else None
    return {
        "entries": [_row(e, payloads) for e in rows],
        "search": "",
        "older": older,
        "newer": newer,
    }
