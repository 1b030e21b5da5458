"""Stream entry layout: the fields a producer writes and a consumer decodes.

Fields: payload (serialised bytes), ctype (serializer content type), headers (JSON object),
published (ms). Optional: only_group (a replayed dead letter meant for one group; the other
groups acknowledge and skip it), replayed_from (the dead-letter id it came from).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from queues.exceptions import SerializationError, UndecodableEntry
from queues.serializers import Serializer

PAYLOAD = "payload"
CTYPE = "ctype"
HEADERS = "headers"
PUBLISHED = "published"
ONLY_GROUP = "only_group"

Fields = dict[str, bytes | str]


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


@dataclass(frozen=True, slots=True)
class Decoded:
    """What a consumer needs from an entry's fields."""

    payload: Any
    headers: dict[str, Any]
    published_ms: int | None
    only_group: str | None


def decode(
    raw: Mapping[bytes | str, bytes | str], serializers: Mapping[str, Serializer]
) -> Decoded:
    """Decode an entry; UndecodableEntry (the reason) when it has no usable payload."""
    fields = {text(k): v for k, v in raw.items()}
    if PAYLOAD not in fields:
        raise UndecodableEntry(f"entry has no {PAYLOAD!r} field (fields: {sorted(fields)})")
    ctype = text(fields.get(CTYPE, b"json"))
    serializer = serializers.get(ctype)
    if serializer is None:
        raise UndecodableEntry(f"no serializer for content type {ctype!r}")
    data = fields[PAYLOAD]
    payload = serializer.loads(data if isinstance(data, bytes) else data.encode("utf-8"))
    headers: dict[str, Any] = {}
    if HEADERS in fields:
        try:
            loaded = json.loads(fields[HEADERS])
        except ValueError as exc:
            raise UndecodableEntry(f"headers are not valid JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise UndecodableEntry("headers are not a JSON object")
        headers = loaded
    published: int | None
    try:
        published = int(text(fields[PUBLISHED])) if PUBLISHED in fields else None
    except ValueError:
        published = None
    only_group = text(fields[ONLY_GROUP]) if ONLY_GROUP in fields else None
    return Decoded(payload, headers, published, only_group or None)
