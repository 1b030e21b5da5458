"""How the command line prints: JSON of dataclasses, ages, and aligned plain-text tables."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any


def json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def dump(value: Any) -> str:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif isinstance(value, list):
        value = [
            dataclasses.asdict(v) if dataclasses.is_dataclass(v) and not isinstance(v, type) else v
            for v in value
        ]
    return json.dumps(value, indent=2, default=json_default)


def age(ms: int | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f}s"


def known(value: int | None) -> str | int:
    """A figure only StreamWarden queues have; "n/a" for a plain stream (never a false 0)."""
    return "n/a" if value is None else value


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows as an aligned plain-text table (or a note when there are none)."""
    if not rows:
        print("(none)")
        return
    cells = [[str(h) for h in headers], *[["-" if v is None else str(v) for v in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if index == 0:
            print("  ".join("-" * width for width in widths))
