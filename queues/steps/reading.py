"""Reading a group: its creation and recreation, the newest id read, and the rows an
XREADGROUP or XCLAIM reply holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from queues import entries, events


def group_created_fields(
    queue: str, *, recreated: bool, group: str, consumer: str, start: str, now_ms: int
) -> dict[str, str]:
    """The event a consumer writes when it created (or re-created) its group."""
    kind = events.GROUP_RECREATED if recreated else events.GROUP_CREATED
    return events.event_fields(kind, queue, now_ms, group=group, consumer=consumer, start=start)


#: What a consumer does when its group vanished under it (Consumer(on_group_lost=...)).
ON_GROUP_LOST = ("recreate", "stop")


def stream_id_key(entry_id: str) -> tuple[int, int]:
    """A stream id as a sortable pair."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def newest_read(current: str | None, rows: list[Delivery]) -> str | None:
    """The newest id a consumer has read from its stream, after reading ``rows``."""
    if not rows:
        return current
    last = rows[-1].id
    if current is None or stream_id_key(last) > stream_id_key(current):
        return last
    return current


def has_group(xinfo_groups: list[Any], group: str) -> bool:
    """Whether an XINFO GROUPS reply lists ``group``."""
    return any(entries.text(row.get("name", row.get(b"name"))) == group for row in xinfo_groups)


def recreate_start(*, last_read: str | None, start_id: str, stream_exists: bool) -> str:
    """Where a consumer re-creates its group after it vanished: just after the newest entry
    it had read (what it and the others acknowledged before is not replayed; entries read by
    other consumers beyond it are delivered again), at ``start_id`` when it had read
    nothing, and at ``0`` when the stream is gone too (a Redis restart that lost its data:
    everything published since is new)."""
    if not stream_exists:
        return "0"
    return last_read if last_read is not None else start_id


class Delivery(NamedTuple):
    """An entry as handed to a consumer: id, raw fields, and which delivery this is."""

    id: str
    fields: Mapping[Any, Any]
    deliveries: int


_tuple_new = tuple.__new__  # builds a NamedTuple without its Python-level __new__


def read_rows(reply: Any) -> list[Delivery]:
    """The entries of an XREADGROUP reply (RESP2 list or RESP3 dict): first deliveries."""
    rows: list[Any] = []
    if isinstance(reply, dict):
        for value in reply.values():
            rows.extend(value[0] if value and isinstance(value[0], list) else value)
    else:
        for _stream, stream_rows in reply or []:
            rows.extend(stream_rows)
    return [
        _tuple_new(
            Delivery,
            (
                entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id),
                fields or {},
                1,
            ),
        )
        for entry_id, fields in rows
    ]
