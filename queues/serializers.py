"""Payload serialisers: JSON by default; any object with content_type/dumps/loads plugs in."""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

from queues.exceptions import SerializationError, UndecodableEntry


@runtime_checkable
class Serializer(Protocol):
    """Turns payloads into bytes and back; ``content_type`` is stored with every entry."""

    content_type: str

    def dumps(self, payload: Any) -> bytes:
        """Serialise ``payload``; raise SerializationError when it cannot be."""
        ...

    def loads(self, data: bytes) -> Any:
        """Deserialise ``data``; raise UndecodableEntry when it cannot be."""
        ...


_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class JSONSerializer:
    """Compact UTF-8 JSON; the default serializer."""

    content_type = "json"

    def dumps(self, payload: Any) -> bytes:
        try:
            text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise SerializationError(f"payload is not JSON-serialisable: {exc}") from exc
        return text.encode("utf-8")

    def loads(self, data: bytes) -> Any:
        try:
            text = data.decode("utf-8")  # what dumps writes; skips json's encoding sniffing
            try:
                # the C scanner alone: what json.loads runs after two whitespace regexes
                value, end = _scan(text, 0)
                if end == len(text):
                    return value
            except StopIteration:
                pass
            return json.loads(text)  # whitespace around the value, or the error message
        except (UnicodeDecodeError, ValueError) as exc:
            raise UndecodableEntry(f"payload is not valid JSON: {exc}") from exc
        except RecursionError as exc:
            # e.g. "[" * 1000 + "]" * 1000: json recurses once per level
            raise UndecodableEntry(f"payload JSON is nested too deeply to decode: {exc}") from exc


JSON = JSONSerializer()


def resolve(serializer: Serializer | None) -> Serializer:
    """The serializer to use: the given one, checked, or JSON."""
    if serializer is None:
        return JSON
    if not isinstance(serializer, Serializer) or not isinstance(serializer.content_type, str):
        raise TypeError(
            f"{serializer!r} is not a serializer: it needs a content_type str and "
            "dumps(payload) -> bytes / loads(bytes) methods"
        )
    return serializer
