"""The library's Redis steps as data, shared by the sync classes and their asyncio twins.

Each ``*_call`` function returns the ``(keys, args)`` of one Lua script call (the scripts
themselves live in ``queues/lua/``); each ``read_*``/``decide_*`` function turns a reply or
a handler outcome into the next step. Nothing here does I/O, so ``queues.Consumer`` and
``queues.aio.Consumer`` run the very same algorithms and differ only in how they wait.

This module holds what happens to an entry before and after its handler: preparing it
(``preparer``) and the retry rule (``decide_failure``, ``retry_call``,
``dead_letter_call``). The other steps live by concern in ``queues.steps``
(``publishing``, ``reading``, ``moving``, ``replies``) and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from queues import deadletter, delayed, entries, events
from queues.backoff import retry_delay
from queues.exceptions import UndecodableEntry
from queues.keys import RETRY_CONSUMER, QueueKeys
from queues.serializers import Serializer
from queues.steps import Call
from queues.steps.moving import (
    TAKEOVER_BATCH,
    Moved,
    TakenOver,
    move_due_call,
    ordered_takeover_call,
    read_move_due,
    read_takeover,
)
from queues.steps.publishing import publish_dedup_call, schedule_call
from queues.steps.reading import (
    ON_GROUP_LOST,
    Delivery,
    group_created_fields,
    has_group,
    newest_read,
    read_rows,
    recreate_start,
    stream_id_key,
)
from queues.steps.replies import (
    REPLY_MAXLEN,
    delete_consumer_call,
    notify_call,
    orphaned_replies,
    reply_producer,
    touch_call,
)
from queues.types import Message, make_message

__all__ = [
    "DEAD_LETTER",
    "HOLD",
    "ON_GROUP_LOST",
    "REPLY_MAXLEN",
    "RETRY",
    "RETRY_LOST",
    "RETRY_PARKED",
    "RETRY_TRIMMED",
    "TAKEOVER_BATCH",
    "Call",
    "Delivery",
    "FailureDecision",
    "Moved",
    "Prepare",
    "Settle",
    "TakenOver",
    "dead_letter_call",
    "decide_failure",
    "delete_consumer_call",
    "failure_is_final",
    "group_created_fields",
    "has_group",
    "kept_fields",
    "move_due_call",
    "newest_read",
    "notify_call",
    "ordered_takeover_call",
    "orphaned_replies",
    "preparer",
    "publish_dedup_call",
    "read_move_due",
    "read_rows",
    "read_takeover",
    "recreate_start",
    "reply_producer",
    "retry_call",
    "schedule_call",
    "stream_id_key",
    "touch_call",
    "undecodable",
]


@dataclass(frozen=True, slots=True)
class Settle:
    """An entry that is not handed to the handler: acknowledge it (a replay for another
    group) or dead-letter it with ``reason`` and ``error``."""

    action: str  # "ack" | "dead"
    reason: str = ""
    error: str = ""


Prepare = Callable[[str, Mapping[Any, Any], int], "Message | Settle"]


def preparer(
    *,
    queue: str,
    group: str,
    max_deliveries: int,
    serializers: Mapping[Any, Serializer],
    max_payload_bytes: int | None = None,
) -> Prepare:
    """``prepare(entry_id, fields, deliveries)``: what to do with an entry before any handler
    runs, the Message or a Settle. One per consumer, bound to its settings.

    Any failure to decode (the serializer raising anything at all, a payload above
    ``max_payload_bytes``) dead-letters the entry at once; an entry delivered more than
    ``max_deliveries`` times is dead-lettered without being decoded again (its payload may be
    what crashed the consumers).

    It runs once per message, so the common entry (a redis-py reply with bytes keys, a known
    content type, meant for every group, within max_deliveries) is decoded right here in
    one call; everything else goes through ``entries.decode``, which handles all layouts.
    tests/queues/test_units.py checks that both paths agree.
    """
    get_serializer = serializers.get
    # locals: a module attribute lookup per field per message is measurable here
    payload_key, ctype_key, headers_key, published_key, only_group_key, json_ctype = (
        entries.B_PAYLOAD,
        entries.B_CTYPE,
        entries.B_HEADERS,
        entries.B_PUBLISHED,
        entries.B_ONLY_GROUP,
        entries.B_JSON,
    )
    decode_headers, int_or_none = entries.headers, entries.int_or_none
    check_size = entries.check_size

    def prepare(entry_id: str, fields: Mapping[Any, Any], deliveries: int) -> Message | Settle:
        data = fields.get(payload_key)
        if (
            data.__class__ is bytes
            and deliveries <= max_deliveries
            and only_group_key not in fields
            and (serializer := get_serializer(fields.get(ctype_key, json_ctype))) is not None
        ):
            raw_headers = fields.get(headers_key)
            try:
                if max_payload_bytes is not None and len(data) > max_payload_bytes:
                    check_size(data, max_payload_bytes)
                payload = serializer.loads(data)
                headers = {} if raw_headers is None else decode_headers(raw_headers)
            except UndecodableEntry as exc:
                return Settle("dead", deadletter.UNDECODABLE, str(exc))
            except Exception as exc:  # the codec's own failure: never retried, never claimed
                return Settle("dead", deadletter.UNDECODABLE, undecodable(serializer, exc))
            published = fields.get(published_key)
            return make_message(
                entry_id,
                payload,
                headers,
                deliveries,
                queue,
                group,
                None if published is None else int_or_none(published),
            )
        return _prepare_any(
            entry_id,
            fields,
            deliveries,
            queue,
            group,
            max_deliveries,
            serializers,
            max_payload_bytes,
        )

    return prepare


def undecodable(serializer: Serializer, exc: Exception) -> str:
    """The dead letter's error for a serializer that failed with ``exc``."""
    return f"{serializer.content_type} serializer failed: {deadletter.describe(exc)}"


def _prepare_any(
    entry_id: str,
    fields: Mapping[Any, Any],
    deliveries: int,
    queue: str,
    group: str,
    max_deliveries: int,
    serializers: Mapping[Any, Serializer],
    max_payload_bytes: int | None,
) -> Message | Settle:
    only_group = entries.only_group(fields)
    if only_group is not None and only_group != group:
        return Settle("ack")  # a replay meant for another group
    if deliveries > max_deliveries:
        # before decoding: the payload may be what crashed or hung the consumers
        return Settle(
            "dead",
            deadletter.MAX_DELIVERIES,
            f"delivered {deliveries} times (max_deliveries={max_deliveries}) "
            "without being acknowledged: consumers crashed or hung while handling it",
        )
    try:
        decoded = entries.decode(fields, serializers, max_payload_bytes)
    except UndecodableEntry as exc:
        return Settle("dead", deadletter.UNDECODABLE, str(exc))
    return make_message(
        entry_id,
        decoded.payload,
        decoded.headers,
        deliveries,
        queue,
        group,
        decoded.published_ms,
    )


def failure_is_final(deliveries: int, max_deliveries: int) -> bool:
    """A handler failure at this delivery dead-letters the entry instead of a retry."""
    return deliveries >= max_deliveries


#: What a handler failure leads to (decide_failure): park the entry for a retry after the
#: backoff, dead-letter it (its last delivery), or (ordered mode) hold it: it stays pending
#: with this consumer and is handled again after the backoff, before anything newer.
RETRY, DEAD_LETTER, HOLD = "retry", "dead_letter", "hold"


class FailureDecision(NamedTuple):
    action: str  # RETRY | DEAD_LETTER | HOLD
    delay: float  # seconds until the next delivery (RETRY, HOLD); 0.0 for DEAD_LETTER


def decide_failure(
    deliveries: int,
    *,
    max_deliveries: int,
    ordered: bool,
    base: float,
    cap: float,
    jitter: float,
) -> FailureDecision:
    """The retry rule, for both twins and every mode: a handler that raised at delivery
    ``deliveries`` dead-letters the entry from ``max_deliveries`` on; before that it is
    delivered again after base * 2**(deliveries-1) seconds (capped, jittered): parked for a
    retry, or in ordered mode held in place so that nothing newer runs first."""
    if failure_is_final(deliveries, max_deliveries):
        return FailureDecision(DEAD_LETTER, 0.0)
    delay = retry_delay(deliveries, base=base, cap=cap, jitter=jitter)
    return FailureDecision(HOLD if ordered else RETRY, delay)


def retry_call(
    keys: QueueKeys,
    group: str,
    entry_id: str,
    consumer: str,
    deliveries: int,
    *,
    delay: float,
    fields: Mapping[Any, Any] | None = None,
) -> Call:
    """retry.lua: park the entry with ``__retry__`` and a ticket due in ``delay`` seconds
    (see decide_failure). ``fields`` (the entry as the consumer read it) go into the dead
    letter when its data was trimmed away meanwhile (reply 2)."""
    return (
        [keys.stream, keys.delayed, keys.dead, keys.events],
        [
            group,
            entry_id,
            consumer,
            int(delay * 1000),
            delayed.retry_ticket(group, entry_id),
            RETRY_CONSUMER,
            keys.name,
            events.MAX_EVENTS,
            deliveries,
            keys.level,
            *kept_fields(fields or {}),
        ],
    )


#: retry.lua replies: parked, no longer owned (claimed by another consumer), dead-lettered
#: because the entry's data was trimmed away.
RETRY_PARKED, RETRY_LOST, RETRY_TRIMMED = 1, 0, 2

_KEPT = (entries.PAYLOAD, entries.CTYPE, entries.HEADERS, entries.PUBLISHED)


def kept_fields(fields: Mapping[Any, Any]) -> list[Any]:
    """The fields of an entry a dead letter keeps, flat (name, value, ...)."""
    flat: list[Any] = []
    for name, value in fields.items():
        if entries.text(name) in _KEPT:
            flat.extend((name, value))
    return flat


def dead_letter_call(
    keys: QueueKeys,
    queue: str,
    group: str,
    entry_id: str,
    consumer: str,
    deliveries: int,
    reason: str,
    error: str,
    trace: str,
    *,
    owned_only: bool = True,
) -> Call:
    """dead_letter.lua: copy to the dead-letter stream, ack, write the event, atomically;
    with ``owned_only`` only while ``consumer`` still owns the entry (False: also an entry
    XCLAIM just dropped from the pending list because its data was trimmed)."""
    return [keys.stream, keys.dead, keys.events], [
        group,
        entry_id,
        consumer,
        reason,
        error,
        trace,
        deliveries,
        queue,
        events.MAX_EVENTS,
        "1" if owned_only else "0",
        keys.level,
    ]
