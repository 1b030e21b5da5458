"""Foreign names (groups, consumers, reasons quoting them) made safe to show and store.

Redis names are binary-safe: a client may create a group whose name holds a newline, a NUL
or a megabyte of text. Where such a name meets a page, a JSON column (PostgreSQL refuses
NUL in jsonb), an email header or a metric label, it is cleaned here, once, at the poll.
"""

from __future__ import annotations

import re
from typing import Any

#: Longest name kept (the alert and storm tables hold 200 characters).
MAX_NAME = 200

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_name(value: str, *, limit: int = MAX_NAME) -> str:
    """``value`` with control characters (newline, NUL, …) replaced by U+FFFD and cut to
    ``limit`` characters (ending in "…" when cut)."""
    cleaned = _CONTROL.sub("\ufffd", value)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def clean_text(value: str, *, limit: int | None = None) -> str:
    """``value`` without NUL (which PostgreSQL text and jsonb refuse), cut to ``limit``."""
    cleaned = value.replace("\x00", "\ufffd")
    if limit is not None and len(cleaned) > limit:
        return cleaned[: limit - 1] + "…"
    return cleaned


def clean_json(value: Any, *, limit: int | None = None) -> Any:
    """A JSON-able value with every string (keys too) passed through ``clean_text``; string
    values cut to ``limit`` characters (a traceback of a megabyte is not worth storing)."""
    if isinstance(value, str):
        return clean_text(value, limit=limit)
    if isinstance(value, dict):
        return {clean_text(str(k), limit=200): clean_json(v, limit=limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v, limit=limit) for v in value]
    return value
