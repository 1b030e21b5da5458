"""Library events: one capped stream per queue (sw:{Q}:events), written by the Lua scripts
in the same atomic step as the change they report."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

from queues.entries import text
from queues.types import Event

CLAIMED = "claimed"
RETRIED = "retried"
DEAD_LETTERED = "dead_lettered"
REPLAYED = "replayed"
PURGED = "purged"
GROUP_CREATED = "group_created"
GROUP_RECREATED = "group_recreated"
TRIMMED = "trimmed"

EVENTS_DROPPED = "events_dropped"

#: Events each queue's events stream keeps at least (what Manager.events() can show); older
#: ones go once every consumer group of the stream has acknowledged them (queues/lua/_events.lua).
MAX_EVENTS = 10_000
#: Hard bound of an events stream: beyond it the oldest events go even when a group has not
#: acknowledged them (a dashboard down for long must not fill Redis), and an
#: ``events_dropped`` event says how many.
HARD_MAX_EVENTS = 100_000
#: At the hard bound, this many of the oldest events go at once (one ``events_dropped``
#: event per batch); at least MAX_EVENTS are always kept.
DROP_BATCH = 10_000
#: The events stream's length is checked against both bounds every this many events.
CHECK_EVERY = 64


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def parse(entry_id: bytes | str, raw: Mapping[bytes | str, bytes | str]) -> Event:
    """An events-stream entry as an Event."""
    fields = {text(k): text(v) for k, v in raw.items()}
    eid = text(entry_id)
    try:
        time_ms = int(fields.get("time", ""))
    except ValueError:
        time_ms = _id_key(eid)[0]
    return Event(
        id=eid,
        type=fields.get("type", ""),
        queue=fields.get("queue", ""),
        time_ms=time_ms,
        fields=fields,
    )


def merge_newest(streams: Iterable[list[Event]], count: int) -> list[Event]:
    """The ``count`` newest events of several queues' streams, oldest first."""
    newest = heapq.nlargest(
        count,
        (event for events in streams for event in events),
        key=lambda e: (e.time_ms, _id_key(e.id)),
    )
    newest.reverse()
    return newest


def event_fields(kind: str, queue: str, time_ms: int, **fields: object) -> dict[str, str]:
    """Fields of an event written from Python (those written by Lua have the same shape)."""
    out = {"type": kind, "queue": queue}
    out.update({k: str(v) for k, v in fields.items() if v is not None})
    out["time"] = str(time_ms)
    return out
