"""Dead letters of a library queue, newest first, paged by id or found by original id,
with payload previews only for those allowed to see payloads."""

from __future__ import annotations

import json
from typing import Any, TypedDict

from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.library import manager_for
from queues.types import DeadLetter

PREVIEW_CHARS = 2000
#: Dead letters scanned (newest first) to find one by its original id.
MAX_DEAD_SCAN = 10_000


class DeadLetterRow(TypedDict):
    id: str
    original_id: str
    reason: str
    error: str
    traceback: str
    deliveries: int
    group: str
    consumer: str
    failed_at_ms: int | None
    payload: str | None  # plain text (templates/JS escape it); None when hidden
    payload_hidden: bool


class DeadLetterPage(TypedDict):
    dead_letters: list[DeadLetterRow]
    total: int
    older: str | None  # the cursor of the next (older) page
    newer: bool  # whether newer ones exist
    found: bool | None  # with ``original``: whether it was found


def _preview(value: Any) -> str:
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
    elif isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    return text[:PREVIEW_CHARS]


def _dead_letter_row(letter: DeadLetter, payloads: bool) -> DeadLetterRow:
    payload = letter.payload_raw if letter.payload_raw is not None else letter.payload
    return {
        "id": str(letter.id),
        "original_id": str(letter.original_id),
        "reason": str(letter.reason),
        "error": str(letter.error),
        "traceback": str(letter.traceback),
        "deliveries": int(letter.deliveries or 0),
        "group": str(letter.group),
        "consumer": str(letter.consumer),
        "failed_at_ms": letter.failed_at_ms,
        "payload": _preview(payload) if payloads else None,
        "payload_hidden": not payloads,
    }


def dead_letters(
    *, definition: QueueDefinition, count: int = 50, payloads: bool = False
) -> list[DeadLetterRow] | None:
    """The newest dead letters with a payload preview (plain text: templates/JS escape it)
    when ``payloads`` (the view_payloads permission), else ``payload`` None and
    ``payload_hidden``; None for a plain stream (it has no dead letters StreamWarden could
    know of)."""
    page = dead_letter_page(definition=definition, count=count, payloads=payloads)
    return None if page is None else page["dead_letters"]


def dead_letter_page(
    *,
    definition: QueueDefinition,
    count: int = 50,
    payloads: bool = False,
    before: str = "",
    at: str = "",
    original: str = "",
) -> DeadLetterPage | None:
    """One page of dead letters, newest first: the newest ones, those older than the dead
    id ``before``, those from the dead id ``at`` on, or those from the one whose ORIGINAL
    id is ``original`` on (found by scanning at most MAX_DEAD_SCAN, newest first; ``found``
    says whether it was). With ``total``, ``older`` (the cursor of the next page, or None)
    and ``newer`` (whether newer ones exist). None for a plain stream."""
    if definition.is_plain:
        return None
    manager = manager_for(definition.effective_redis_url())
    queue = definition.queue_name
    found: bool | None = None
    end = "+"
    if original:
        found = False
        cursor = "+"
        for _ in range(0, MAX_DEAD_SCAN, 500):
            chunk = manager.dead_letters(queue, 500, end=cursor, newest_first=True)
            hit = next((d for d in chunk if str(d.original_id) == original), None)
            if hit is not None:
                found, end = True, str(hit.id)
                break
            if len(chunk) < 500:
                break
            cursor = f"({chunk[-1].id}"
    elif at:
        end = at
    elif before:
        end = f"({before}"
    letters = manager.dead_letters(queue, count + 1, end=end, newest_first=True)
    older = str(letters[count - 1].id) if len(letters) > count else None
    letters = letters[:count]
    newer = bool(letters) and bool(
        manager.dead_letters(queue, 1, start=f"({letters[0].id}", newest_first=True)
    )
    return {
        "dead_letters": [_dead_letter_row(d, payloads) for d in letters],
        "total": manager.dead_letter_count(queue),
        "older": older,
        "newer": newer,
        "found": found,
    }
