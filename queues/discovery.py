"""Which stream keys of a Redis are StreamWarden queues, plain streams or library internals.

``Manager.streams`` walks the keyspace with ``SCAN … TYPE stream`` (never ``KEYS``) in
bounded pages; the decisions here (what a key is, when a page is full) have no I/O so the
sync and asyncio managers share them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from queues.keys import PREFIX
from queues.types import StreamRef

#: Streams the library keeps beside a queue's main stream: not queues, not foreign data.
_QUEUE_KEY = re.compile(rb"\A" + PREFIX.encode() + rb":\{(?P<queue>[^{}]+)\}:(?P<rest>.+)\Z", re.S)
_INTERNAL = re.compile(rb"\A(events|dead|reply:.*|stream:p[1-9])\Z", re.S)

#: SCAN calls one page makes at most: a pattern matching few streams among many keys
#: returns a partial page and a cursor instead of walking the whole keyspace at once.
MAX_SCAN_CALLS = 10
#: The largest COUNT hint one SCAN call is given (the page size asked for caps it too).
MAX_SCAN_COUNT = 10_000


def _raw(key: bytes | str) -> bytes:
    return key if isinstance(key, bytes) else key.encode()


def classify(key: bytes | str) -> StreamRef | None:
    """The StreamRef of a stream key, or None for a library internal stream."""
    raw = _raw(key)
    try:
        name = raw.decode()
        exact: bytes | str = name
    except UnicodeDecodeError:
        name = raw.decode("utf-8", errors="replace")
        exact = raw  # only the bytes address this key
    match = _QUEUE_KEY.match(raw)
    if match is None:
        return StreamRef(name=name, key=exact)
    rest = match.group("rest")
    if rest == b"stream":
        return StreamRef(name=name, key=exact, queue=match.group("queue").decode(errors="replace"))
    if _INTERNAL.match(rest):
        return None
    return StreamRef(name=name, key=exact)


def classify_all(keys: Iterable[bytes | str]) -> list[StreamRef]:
    found = (classify(k) for k in keys)
    return [ref for ref in found if ref is not None]


def check_page_args(match: str, count: int) -> None:
    if not isinstance(match, str) or not match:
        raise ValueError(f"match must be a non-empty glob pattern, got {match!r}")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")


def scan_count(count: int) -> int:
    return min(count, MAX_SCAN_COUNT)


def page_full(found: int, count: int, calls: int) -> bool:
    """Stop this page: enough streams found, or the per-page SCAN budget spent."""
    return found >= count or calls >= MAX_SCAN_CALLS


# A cursor is "<node>:<scan cursor>" on a cluster (each primary is scanned in turn) and the
# plain SCAN cursor on one server; "0" starts and ends both.


def parse_cursor(cursor: str | int, nodes: int) -> tuple[int, int]:
    """(node index, SCAN cursor) of a page cursor; ValueError names a bad one."""
    text = str(cursor)
    try:
        if ":" in text:
            node_text, scan_text = text.split(":", 1)
            node, scan = int(node_text), int(scan_text)
        else:
            node, scan = 0, int(text)
    except ValueError:
        raise ValueError(
            f"bad streams cursor {cursor!r}: pass back the cursor a page returned"
        ) from None
    if scan < 0 or not 0 <= node < max(nodes, 1) or (nodes == 1 and ":" in text):
        raise ValueError(f"bad streams cursor {cursor!r}: pass back the cursor a page returned")
    return node, scan


def next_cursor(node: int, scan: int, nodes: int) -> str:
    """The page cursor after a SCAN reply on ``node`` returned cursor ``scan``."""
    if scan != 0:
        return str(scan) if nodes == 1 else f"{node}:{scan}"
    if node + 1 < nodes:
        return f"{node + 1}:0"
    return "0"
