"""Typed values at the library boundary: Redis replies are decoded once into these."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Status = Literal["ok", "warn", "alert"]


def _from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass(frozen=True, slots=True)
class Message:
    """One delivery of a stream entry to a handler."""

    id: str
    payload: Any
    headers: dict[str, Any]
    deliveries: int
    queue: str
    group: str
    published_ms: int | None = None

    @property
    def published(self) -> datetime | None:
        """When the producer published it (UTC), if recorded."""
        return _from_ms(self.published_ms)


@dataclass(frozen=True, slots=True)
class Completion:
    """How a message published with ``notify=True`` ended: ``done`` (a handler returned) or
    ``dead`` (dead-lettered, with the error)."""

    id: str  # stream entry id
    status: str
    error: str | None
    token: str

    @property
    def ok(self) -> bool:
        return self.status == "done"


_MESSAGE_SLOTS = tuple(
    Message.__dict__[name].__set__
    for name in ("id", "payload", "headers", "deliveries", "queue", "group", "published_ms")
)


def make_message(
    id: str,
    payload: Any,
    headers: dict[str, Any],
    deliveries: int,
    queue: str,
    group: str,
    published_ms: int | None,
) -> Message:
    """``Message(...)`` for the consumer's hot path: fills the slots directly, skipping the
    frozen dataclass ``__init__`` (one ``object.__setattr__`` call per field, ~2x slower)."""
    message = object.__new__(Message)
    set_id, set_payload, set_headers, set_deliveries, set_queue, set_group, set_published = (
        _MESSAGE_SLOTS
    )
    set_id(message, id)
    set_payload(message, payload)
    set_headers(message, headers)
    set_deliveries(message, deliveries)
    set_queue(message, queue)
    set_group(message, group)
    set_published(message, published_ms)
    return message


@dataclass(frozen=True, slots=True)
class ConsumerInfo:
    """A consumer of a group as XINFO CONSUMERS reports it."""

    name: str
    pending: int
    idle_ms: int
    active: bool


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """State of one consumer group (XINFO GROUPS + XPENDING + XINFO CONSUMERS)."""

    name: str
    consumers: tuple[ConsumerInfo, ...]
    active_consumers: int
    pending: int
    lag: int | None
    oldest_pending_ms: int | None
    last_delivered_id: str
    entries_read: int | None
    oldest_undelivered_ms: int | None = None
    #: Entries waiting for a retry (owned by the parking consumer); None for a plain stream,
    #: whose consumers are not StreamWarden's (a consumer of any name is a real one there).
    parked: int | None = 0
    #: Why the group could not be read (figures above are zero then), "" when it could.
    unreadable: str = ""
    #: Deliveries not run again: already processed (``AlreadyProcessed``) or being processed
    #: by another live consumer (``guard=True``); counted by the consumers, never reset.
    #: None for a plain stream (only StreamWarden consumers count them).
    duplicates: int | None = 0


@dataclass(frozen=True, slots=True)
class QueueInfo:
    """Snapshot of one queue: stream, groups, dead letters, delayed messages.

    For a plain stream (``plain``: any stream key, not a StreamWarden queue) ``name`` is the
    key, and what only the library keeps (``dead``, ``delayed``) is None: unknown, not 0.
    """

    name: str
    exists: bool
    length: int
    groups: tuple[GroupInfo, ...]
    dead: int | None
    delayed: int | None
    first_id: str | None = None
    last_id: str | None = None
    entries_added: int | None = None
    oldest_undelivered_ms: int | None = None
    time_ms: int | None = None  # Redis server time of the snapshot
    #: Priority levels above 0 the queue has (their figures are included in the above).
    levels: tuple[int, ...] = ()
    #: Why the queue could not be read (a key of the wrong type, a reply that does not
    #: decode); its figures are zero then. "" when it could.
    unreadable: str = ""
    plain: bool = False

    def group(self, name: str) -> GroupInfo:
        """The group called ``name``; KeyError when there is none."""
        for group in self.groups:
            if group.name == name:
                return group
        raise KeyError(name)

    @property
    def lag(self) -> int | None:
        """Largest group lag (undelivered entries), None when unknown or no groups."""
        lags = [g.lag for g in self.groups if g.lag is not None]
        return max(lags) if lags else None

    @property
    def pending(self) -> int:
        """Pending entries over all groups."""
        return sum(g.pending for g in self.groups)


@dataclass(frozen=True, slots=True)
class PlainStream:
    """A stream key to inspect as it is (not a StreamWarden queue): ``info_many`` takes
    these beside queue names. ``key`` may be bytes for a name that is not UTF-8."""

    key: str | bytes


@dataclass(frozen=True, slots=True)
class StreamRef:
    """One stream key found by ``Manager.streams``: a StreamWarden queue (``queue`` names
    it) or a plain stream. ``name`` is the key as text (undecodable bytes replaced);
    ``key`` the exact key to address it by."""

    name: str
    key: str | bytes
    queue: str | None = None

    @property
    def kind(self) -> Literal["queue", "plain"]:
        return "plain" if self.queue is None else "queue"

    @property
    def target(self) -> str | PlainStream:
        """What ``info_many`` takes for it: the queue name or a PlainStream."""
        return self.queue if self.queue is not None else PlainStream(self.key)


@dataclass(frozen=True, slots=True)
class StreamPage:
    """One bounded page of ``Manager.streams``; ``cursor`` continues it ("0": the end)."""

    streams: tuple[StreamRef, ...]
    cursor: str

    @property
    def done(self) -> bool:
        return self.cursor == "0"

    def __iter__(self) -> Iterator[StreamRef]:
        return iter(self.streams)

    def __len__(self) -> int:
        return len(self.streams)


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One entry of any stream, its fields as Redis holds them (bytes: foreign data may be
    binary, non-UTF-8 or not JSON; render them as escaped text)."""

    id: str
    fields: tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """One entry of a group's pending entries list."""

    id: str
    consumer: str
    idle_ms: int
    deliveries: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An entry of the dead-letter stream, with the failure that put it there."""

    id: str
    original_id: str
    reason: str
    error: str
    traceback: str
    deliveries: int
    group: str
    consumer: str
    failed_at_ms: int | None
    payload_raw: bytes | None
    payload: Any
    ctype: str
    headers: dict[str, Any] = field(default_factory=dict)

    @property
    def failed_at(self) -> datetime | None:
        return _from_ms(self.failed_at_ms)


@dataclass(frozen=True, slots=True)
class Event:
    """A library event (claimed, retried, dead_lettered, ...) from a queue's events stream."""

    id: str
    type: str
    queue: str
    time_ms: int
    fields: dict[str, str]

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.time_ms / 1000, tz=UTC)

    @property
    def group(self) -> str | None:
        return self.fields.get("group")

    @property
    def message_id(self) -> str | None:
        return self.fields.get("id")

    @property
    def previous_owner(self) -> str | None:
        return self.fields.get("previous_owner")

    @property
    def new_owner(self) -> str | None:
        return self.fields.get("new_owner")

    @property
    def idle_ms(self) -> int | None:
        value = self.fields.get("idle_ms")
        return int(value) if value is not None else None

    @property
    def deliveries(self) -> int | None:
        value = self.fields.get("deliveries")
        return int(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Check:
    """One health check result."""

    name: str
    status: Status
    value: float | None
    warn: float | None
    alert: float | None
    group: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Health:
    """Worst status of a queue's checks, with the checks."""

    queue: str
    status: Status
    checks: tuple[Check, ...]

    def failing(self) -> tuple[Check, ...]:
        """Checks that are not ok."""
        return tuple(c for c in self.checks if c.status != "ok")
