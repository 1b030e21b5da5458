"""Which held entries the heartbeat keeps fresh (sans-I/O, so it is written once).

A consumer holds entries in three states: waiting their turn (the rest of a batch, the
worker queue, what the read-ahead delivered), being handled (since a known time), and
handled but not yet acknowledged. ``handler_timeout`` counts from when a handler *starts*:
an entry whose handler has run longer is let go, so that another consumer can rescue it.
Entries waiting their turn stay fresh while this consumer can still get to them, that is
while at least one handler slot is not held by a stuck handler; when every slot is stuck
they are let go too, since nothing here will ever reach them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple


class Fresh(NamedTuple):
    ids: list[str]  # to refresh now
    stuck: int  # handlers running longer than handler_timeout
    abandoned: int  # entries waiting behind stuck handlers, let go with them


def to_refresh(
    held: Mapping[str, float | None],
    waiting: Iterable[str],
    *,
    now: float,
    handler_timeout: float | None,
    slots: int,
) -> Fresh:
    """``held``: id -> monotonic time its handler started (None: not started yet);
    ``waiting``: further ids held but not handed to a handler (the read-ahead's);
    ``slots``: how many handlers run at once."""
    if handler_timeout is None:
        return Fresh([*held, *waiting], 0, 0)
    oldest = now - handler_timeout
    ids: list[str] = []
    queued: list[str] = []
    stuck = 0
    for entry_id, started in held.items():
        if started is None:
            queued.append(entry_id)
        elif started >= oldest:
            ids.append(entry_id)
        else:
            stuck += 1
    queued.extend(waiting)
    if stuck >= slots:
        return Fresh(ids, stuck, len(queued))
    return Fresh(ids + queued, stuck, 0)
