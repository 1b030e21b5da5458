"""The library's Redis steps as data, shared by the sync classes and their asyncio twins.

Each ``*_call`` function returns the ``(keys, args)`` of one Lua script call (the scripts
themselves live in ``queues/lua/``); each ``read_*``/``decide_*`` function turns a reply or
a handler outcome into the next step. Nothing here does I/O, so ``queues.Consumer`` and
``queues.aio.Consumer`` run the very same algorithms and differ only in how they wait.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from queues import deadletter, delayed, entries, events
from queues.backoff import retry_delay
from queues.exceptions import UndecodableEntry
from queues.keys import RETRY_CONSUMER, QueueKeys
from queues.serializers import Serializer
from queues.types import Message, make_message

Call = tuple[list[str], list[Any]]


# ------------------------------------------------------------------ publishing


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


# ------------------------------------------------------------------ consuming


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


def move_due_call(keys: QueueKeys, move_batch: int) -> Call:
    """move_due.lua: publish due delayed messages, release due parked retries (dead-letter
    bad tickets and parked entries whose data was trimmed)."""
    return [keys.delayed, keys.stream, keys.dead, keys.events], [
        move_batch,
        RETRY_CONSUMER,
        keys.name,
        events.MAX_EVENTS,
    ]


def ordered_takeover_call(keys: QueueKeys, lock_key: str, group: str, consumer: str) -> Call:
    """ordered_takeover.lua: take over the pending entries of inactive predecessors."""
    return [keys.stream, keys.events, lock_key, keys.dead], [
        group,
        consumer,
        TAKEOVER_BATCH,
        keys.name,
        events.MAX_EVENTS,
    ]


#: Pending entries of predecessors one ordered_takeover.lua call takes at most.
TAKEOVER_BATCH = 1000


class TakenOver(NamedTuple):
    """What one ordered_takeover.lua call did."""

    taken: int
    removed: int  # predecessors removed from the group
    dead_lettered: int  # entries whose data was trimmed away

    @property
    def done(self) -> bool:
        """Nothing was left to take: stop calling."""
        return self.taken == 0 and self.dead_lettered == 0


def read_takeover(reply: list[Any]) -> TakenOver:
    return TakenOver(*(int(n) for n in reply))


@dataclass(frozen=True, slots=True)
class Moved:
    published: int
    released: int
    next_due: float | None  # seconds until the next ticket is due, None when there is none

    @property
    def moved(self) -> int:
        return self.published + self.released


def read_move_due(reply: list[Any]) -> Moved:
    published, released, now_ms, next_score = reply
    next_due = None if next_score is None else max(0.0, (float(next_score) - int(now_ms)) / 1000)
    return Moved(int(published), int(released), next_due)


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


def touch_call(keys: QueueKeys, group: str, consumer: str, ids: list[str]) -> Call:
    """touch.lua: reset the idle time of entries this consumer still owns."""
    return [keys.stream], [group, consumer, *ids]


REPLY_MAXLEN = 10_000


def notify_call(
    keys: QueueKeys, target: tuple[str, str], entry_id: str, status: str, error: str = ""
) -> Call:
    """notify.lua: tell a live producer how its message ended (done | dead)."""
    producer_id, token = target
    return [keys.reply(producer_id), keys.producer_alive(producer_id)], [
        token,
        entry_id,
        status,
        error,
        REPLY_MAXLEN,
    ]


def orphaned_replies(keys: QueueKeys, reply_keys: list[Any], alive: list[Any]) -> list[str]:
    """Reply streams whose producer's heartbeat key is gone (``alive``: EXISTS replies of
    ``keys.producer_alive(id)`` for each of ``reply_keys``, in order). Only keys with the
    queue's exact reply prefix: a pattern that matched another queue's keys deletes none."""
    prefix = keys.reply("")
    return [
        name
        for name, up in zip(map(entries.text, reply_keys), alive, strict=True)
        if not up and name.startswith(prefix)
    ]


def reply_producer(keys: QueueKeys, reply_key: Any) -> str:
    """The producer id a reply stream key belongs to."""
    return entries.text(reply_key)[len(keys.reply("")) :]


def delete_consumer_call(keys: QueueKeys, group: str, consumer: str) -> Call:
    """delete_consumer.lua: leave the group, but only when owning nothing."""
    return [keys.stream], [group, consumer, "0"]
