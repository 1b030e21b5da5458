"""Dead-letter entries: what a failure records (dead_letter.lua) and how it reads back."""

from __future__ import annotations

import json
import traceback as tb
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from queues import events
from queues.entries import CTYPE, HEADERS, PAYLOAD, text
from queues.exceptions import ReplayRefused
from queues.keys import QueueKeys
from queues.serializers import Serializer
from queues.types import DeadLetter

MAX_DELIVERIES = "max_deliveries"
UNDECODABLE = "undecodable"
TRIMMED = "trimmed"

MAX_ERROR_CHARS = 2_000
TRACEBACK_LINES = 12


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, bounded in length."""
    message = f"{type(exc).__name__}: {exc}"
    return message[:MAX_ERROR_CHARS]


def traceback_tail(exc: BaseException, lines: int = TRACEBACK_LINES) -> str:
    """The last lines of the exception's traceback: enough to find the failing line."""
    formatted = "".join(tb.format_exception(type(exc), exc, exc.__traceback__))
    return "\n".join(formatted.rstrip().splitlines()[-lines:])[: MAX_ERROR_CHARS * 2]


def parse(
    entry_id: bytes | str,
    raw: Mapping[bytes | str, bytes | str],
    serializers: Mapping[str, Serializer],
) -> DeadLetter:
    """A dead-letter stream entry as a DeadLetter (payload decoded when possible)."""
    fields: dict[str, Any] = {text(k): v for k, v in raw.items()}
    payload_raw = fields.get(PAYLOAD)
    if isinstance(payload_raw, str):
        payload_raw = payload_raw.encode("utf-8")
    if payload_raw is None and "raw" in fields:
        payload_raw = fields["raw"] if isinstance(fields["raw"], bytes) else None
    ctype = text(fields.get(CTYPE, b"json"))
    payload: Any = None
    serializer = serializers.get(ctype)
    if payload_raw is not None and PAYLOAD in fields and serializer is not None:
        try:
            payload = serializer.loads(payload_raw)
        except Exception:  # noqa: BLE001 - whatever broke it: the raw bytes are kept
            payload = None
    headers: dict[str, Any] = {}
    if HEADERS in fields:
        try:
            loaded = json.loads(fields[HEADERS])
            headers = loaded if isinstance(loaded, dict) else {}
        except (ValueError, RecursionError):
            headers = {}

    def as_int(name: str) -> int | None:
        try:
            return int(text(fields.get(name)))
        except ValueError:
            return None

    return DeadLetter(
        id=text(entry_id),
        original_id=text(fields.get("original_id")),
        reason=text(fields.get("reason")),
        error=text(fields.get("error")),
        traceback=text(fields.get("traceback")),
        deliveries=as_int("deliveries") or 0,
        group=text(fields.get("group")),
        consumer=text(fields.get("consumer")),
        failed_at_ms=as_int("failed_at"),
        payload_raw=payload_raw,
        payload=payload,
        ctype=ctype,
        headers=headers,
    )


#: Dead letters replayed per script call (and read per step of a replay walk).
REPLAY_CHUNK = 100


def replay_call(keys: QueueKeys, queue: str, ids: Sequence[str]) -> tuple[list[str], list[Any]]:
    """replay.lua: publish dead letters again, each to the level it failed at."""
    return (
        [keys.stream, keys.dead, keys.events, *keys.level_streams()],
        [queue, events.MAX_EVENTS, *ids],
    )


@dataclass
class ReplayTally:
    """What the replay.lua calls of one replay did; ``result()`` raises ReplayRefused when
    some dead letters were left in place because no group of theirs reads their stream."""

    queue: str
    replayed: int = 0
    refused: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reply: list[Any]) -> None:
        replayed, refused = reply
        self.replayed += int(replayed)
        for entry_id, group, _level in refused:
            self.refused.setdefault(text(group), []).append(text(entry_id))

    def result(self) -> int:
        if self.refused:
            raise ReplayRefused(self.queue, self.replayed, self.refused)
        return self.replayed
