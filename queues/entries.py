"""Stream entry layout: the fields a producer writes and a consumer decodes.

Fields: payload (serialised bytes), ctype (serializer content type), headers (JSON object),
published (ms). Optional: only_group (a replayed dead letter meant for one group; the other
groups acknowledge and skip it), replayed_from (the dead-letter id it came from).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from queues.exceptions import SerializationError, UndecodableEntry
from queues.serializers import Serializer

PAYLOAD = "payload"
CTYPE = "ctype"
HEADERS = "headers"
PUBLISHED = "published"
ONLY_GROUP = "only_group"
#: Completion notifications: the producer id whose reply stream hears how the message
#: ended, and the token the producer matches it by.
REPLY = "reply"
CORRELATION = "correlation"

Fields = dict[str, bytes | str]

#: Default cap on the payload a consumer decodes (``max_payload_bytes``): a bigger one is
#: dead-lettered undecoded, whole.
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024


def text(value: bytes | str | int | None) -> str:
    """A reply value as str (redis-py returns bytes; Lua numbers come back as int)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def encode(
    payload: Any, serializer: Serializer, headers: Mapping[str, Any] | None, published_ms: int
) -> Fields:
    """The fields of a new entry; SerializationError when payload or headers cannot be."""
    fields: Fields = {
        PAYLOAD: serializer.dumps(payload),
        CTYPE: serializer.content_type,
        PUBLISHED: str(published_ms),
    }
    if headers:
        try:
            fields[HEADERS] = json.dumps(dict(headers), separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise SerializationError(f"headers are not JSON-serialisable: {exc}") from exc
    return fields


class Decoded(NamedTuple):
    """What a consumer needs from an entry's fields."""

    payload: Any
    headers: dict[str, Any]
    published_ms: int | None
    only_group: str | None


#: The field names as redis-py returns them, for the consumer's hot path.
B_PAYLOAD, B_CTYPE, B_HEADERS, B_PUBLISHED, B_ONLY_GROUP = (
    name.encode() for name in (PAYLOAD, CTYPE, HEADERS, PUBLISHED, ONLY_GROUP)
)
B_JSON = b"json"


def reply_target(fields: Mapping[Any, Any]) -> tuple[str, str] | None:
    """(producer id, correlation token) when the producer asked to be told, else None."""
    producer = fields.get(b"reply")
    if producer is None:
        producer = fields.get(REPLY)
        if producer is None:
            return None
    token = fields.get(b"correlation", fields.get(CORRELATION, b""))
    return text(producer), text(token)


def serializer_map(*serializers: Serializer) -> dict[str | bytes, Serializer]:
    """Serializers by content type, as str and as bytes (so decode skips a decode)."""
    out: dict[str | bytes, Serializer] = {}
    for serializer in serializers:
        out[serializer.content_type] = serializer
        out[serializer.content_type.encode()] = serializer
    return out


def decode(
    raw: Mapping[bytes | str, bytes | str],
    serializers: Mapping[Any, Serializer],
    max_payload_bytes: int | None = None,
) -> Decoded:
    """Decode an entry with bytes or text keys; UndecodableEntry (the reason) when it has no
    usable payload, or one longer than ``max_payload_bytes``, or the serializer fails in any
    way. (The consumer decodes the common layout itself: commands.preparer.)"""
    fields = {text(k): v for k, v in raw.items()}
    if PAYLOAD not in fields:
        raise UndecodableEntry(f"entry has no {PAYLOAD!r} field (fields: {sorted(fields)})")
    ctype = text(fields.get(CTYPE, "json"))
    serializer = serializers.get(ctype)
    if serializer is None:
        raise UndecodableEntry(f"no serializer for content type {ctype!r}")
    data = fields[PAYLOAD]
    data = data if isinstance(data, bytes) else data.encode("utf-8")
    check_size(data, max_payload_bytes)
    payload = loads(serializer, data)
    only_group = text(fields[ONLY_GROUP]) if ONLY_GROUP in fields else None
    return Decoded(
        payload,
        headers(fields.get(HEADERS)),
        int_or_none(fields.get(PUBLISHED)),
        only_group or None,
    )


def only_group(raw: Mapping[Any, Any]) -> str | None:
    """The group a replayed entry is meant for (None: every group), without decoding it."""
    value = raw.get(B_ONLY_GROUP, raw.get(ONLY_GROUP))
    if value is None:
        return None
    return text(value) or None


def check_size(data: bytes, max_payload_bytes: int | None) -> None:
    """UndecodableEntry when ``data`` is longer than the cap (it is never decoded)."""
    if max_payload_bytes is not None and len(data) > max_payload_bytes:
        raise UndecodableEntry(
            f"payload is {len(data)} bytes, above max_payload_bytes={max_payload_bytes}; "
            "not decoded"
        )


def loads(serializer: Serializer, data: bytes) -> Any:
    """``serializer.loads(data)``; any failure of the codec (its own bugs, RecursionError,
    MemoryError) becomes UndecodableEntry, so that the entry is dead-lettered at once
    instead of staying pending and being claimed over and over."""
    try:
        return serializer.loads(data)
    except UndecodableEntry:
        raise
    except Exception as exc:
        raise UndecodableEntry(
            f"{serializer.content_type} serializer failed: {type(exc).__name__}: {exc}"[:2000]
        ) from exc


def headers(raw: bytes | str | None) -> dict[str, Any]:
    """The headers field decoded; UndecodableEntry when it is not a JSON object."""
    if raw is None:
        return {}
    try:
        loaded = json.loads(raw)
    except ValueError as exc:
        raise UndecodableEntry(f"headers are not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise UndecodableEntry(f"headers JSON is nested too deeply to decode: {exc}") from exc
    if not isinstance(loaded, dict):
        raise UndecodableEntry("headers are not a JSON object")
    return loaded


def int_or_none(raw: bytes | str | None) -> int | None:
    """An integer field (published ms); None when absent or garbled."""
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None
