"""Pending entries of a group, and where one entry is now (stream, pending, dead letters)."""

from __future__ import annotations

import json
from typing import Any, TypedDict

from dashboard import conf
from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.library import manager_for
from dashboard.selectors.dead_letters import dead_letter_page
from queues.info.replies import stream_entry
from queues.keys import queue_keys

#: Bytes of a pending entry's payload sent to the page (folded there after a few lines).
PAYLOAD_CHARS = 20_000


class PendingEntry(TypedDict, total=False):
    id: str
    consumer: str
    idle_ms: int
    deliveries: int
    #: With payloads: the message as text (templates/JS escape it); None when the entry is
    #: no longer in the stream (trimmed or deleted while still pending).
    payload: str | None
    payload_hidden: bool


class PendingIn(TypedDict):
    """An entry pending in one group."""

    group: str
    consumer: str
    idle_ms: int
    deliveries: int


class EntryLocation(TypedDict):
    id: str
    in_stream: bool
    pending: list[PendingIn]
    dead_letter: str | None  # the dead letter's id when it was dead-lettered


def pending_entries(
    *,
    definition: QueueDefinition,
    group: str,
    count: int | None = None,
    payloads: bool | None = None,
) -> list[PendingEntry]:
    """Pending entries of a group (oldest first) with idle time and delivery count; with
    ``payloads`` True (the view_payloads permission) each one's message text, False marks
    them hidden, None (the default) leaves payloads out."""
    manager = manager_for(definition.effective_redis_url())
    count = count or conf.pending_sample()
    if definition.is_plain:
        entries = manager.stream_pending(definition.stream, group, count)
    else:
        entries = manager.pending(definition.queue_name, group, count=count)
    rows: list[PendingEntry] = [
        {
            "id": str(e.id),
            "consumer": str(e.consumer),
            "idle_ms": int(e.idle_ms),
            "deliveries": int(e.deliveries),
        }
        for e in entries
    ]
    if payloads is False:
        for row in rows:
            row["payload"], row["payload_hidden"] = None, True
    elif payloads and rows:
        texts = _payloads(manager, definition, [row["id"] for row in rows])
        for row in rows:
            row["payload"], row["payload_hidden"] = texts.get(row["id"]), False
    return rows


def _payloads(manager: Any, definition: QueueDefinition, ids: list[str]) -> dict[str, str]:
    """Each entry's message as text, in ONE pipelined round trip (XRANGE id id per entry):
    a library queue's payload field as stored, a plain stream's fields as a JSON object."""
    key = definition.stream if definition.is_plain else queue_keys(definition.queue_name).stream
    pipe = manager.client.pipeline(transaction=False)
    for entry_id in ids:
        pipe.xrange(key, entry_id, entry_id, count=1)
    out: dict[str, str] = {}
    for entry_id, found in zip(ids, pipe.execute(raise_on_error=False), strict=True):
        if isinstance(found, Exception) or not found:
            continue  # trimmed or deleted while pending: shown as gone
        entry = stream_entry(*found[0])
        fields = {name.decode("utf-8", "replace"): value for name, value in entry.fields}
        if not definition.is_plain and "payload" in fields:
            out[entry_id] = _text(fields["payload"])
        else:
            out[entry_id] = json.dumps(
                {name: _text(value) for name, value in fields.items()}, ensure_ascii=False
            )
    return out


def _text(value: bytes) -> str:
    return value[:PAYLOAD_CHARS].decode("utf-8", errors="replace")


def top_deliveries(*, definition: QueueDefinition, group: str, top: int = 5) -> list[PendingEntry]:
    """The pending entries of ``group`` delivered most often, within the pending sample
    (the oldest STREAMWARDEN_PENDING_SAMPLE entries: where stuck messages sit)."""
    try:
        sample = pending_entries(definition=definition, group=group)
    except LookupError:  # the group went away between the poll and this read
        return []
    sample.sort(key=lambda e: (e["deliveries"], e["idle_ms"]), reverse=True)
    return [e for e in sample[:top] if e["deliveries"] > 1]


def locate_entry(*, definition: QueueDefinition, entry_id: str) -> EntryLocation:
    """Where entry ``entry_id`` is now: still in the stream or not, pending in which
    group with which owner, dead-lettered (library queues; among the newest MAX_DEAD_SCAN).
    What an alert's link says when the entry left the pending list."""
    manager = manager_for(definition.effective_redis_url())
    if definition.is_plain:
        key: str | bytes = definition.stream
        info = manager.stream_info(key)
    else:
        key = queue_keys(definition.queue_name).stream
        info = manager.info(definition.queue_name)
    in_stream = bool(manager.stream_entries(key, start=entry_id, end=entry_id, count=1))
    pending: list[PendingIn] = []
    for group in info.groups:
        if definition.is_plain:
            rows = manager.stream_pending(key, group.name, 1, start=entry_id)
        else:
            rows = manager.pending(
                definition.queue_name, group.name, 1, start=entry_id, end=entry_id
            )
        for row in rows:
            if str(row.id) == entry_id:
                pending.append(
                    {
                        "group": str(group.name),
                        "consumer": str(row.consumer),
                        "idle_ms": int(row.idle_ms),
                        "deliveries": int(row.deliveries),
                    }
                )
    dead = None
    if not definition.is_plain:
        page = dead_letter_page(definition=definition, count=1, original=entry_id)
        dead = page["dead_letters"][0]["id"] if page and page["found"] else None
    return {"id": entry_id, "in_stream": in_stream, "pending": pending, "dead_letter": dead}
