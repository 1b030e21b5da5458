"""The Producer's script calls: a de-duplicated publish, and scheduling a delayed one."""

from __future__ import annotations

import uuid
from typing import Any

from queues import delayed, entries
from queues.keys import QueueKeys
from queues.steps import Call


def publish_dedup_call(keys: QueueKeys, fields: entries.Fields, key: str, window_ms: int) -> Call:
    """publish.lua: XADD unless ``key`` was published within the window."""
    flat: list[Any] = []
    for name, value in fields.items():
        flat.extend((name, value))
    return [keys.stream, keys.dedup(key)], [window_ms, *flat]


def schedule_call(
    keys: QueueKeys, fields: entries.Fields, due_ms: int, dedup_key: str | None, window_ms: int
) -> Call:
    """schedule.lua: a delayed-publish ticket (once per dedup key when one is given)."""
    ticket_id = uuid.uuid4().hex
    marker = keys.dedup(dedup_key if dedup_key is not None else ticket_id)
    return [keys.delayed, marker], [
        due_ms,
        delayed.message_ticket(fields, ticket_id),
        ticket_id,
        window_ms if dedup_key is not None else 0,
    ]
