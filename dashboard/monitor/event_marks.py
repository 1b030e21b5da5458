"""Change-driven ingestion of library events: which queues' events the monitor hands the
alerts app this cycle.

The library writes claimed, dead_lettered, ... events to each queue's events stream. Reading
them (``Manager.read_events``: XREADGROUP over every stream) every cycle costs 0.5–1 s at
10 000 queues even when none has any. The poll's change check (``queues/lua/fingerprint.lua``)
also looks at each events stream's last entry id and reports the queues where it differs from
the one held here; only those are read, plus the ones nothing can be vouched for.
"""

from __future__ import annotations

from collections.abc import Iterable

#: (Redis URL, library queue name)
Key = tuple[str, str]


class EventMarks:
    """The last events id of each library queue as of its last successful ingestion, and
    what this cycle's check saw.

    A queue is due for ingestion when:

    - it has no mark: never ingested by this monitor (start-up: its own pending events of a
      crashed predecessor of the same name are read first), or its last ingestion failed
      (a database or Redis error: the events it read stay pending and are read again) or
      stopped before the end of its events;
    - this cycle's check did not look at it (a Redis Cluster, a refused script, a server
      that did not answer) or could not read its events stream;
    - the last entry id the check saw differs from its mark.

    The mark recorded after a successful ingestion is the id the check saw *before* that
    ingestion read the stream: an event written in between, read by it or not, shows as a
    move at the next check. So no event waits more than one cycle past the one it was
    written in. Not thread-safe: the monitor's cycle owns it."""

    def __init__(self) -> None:
        self.held: dict[Key, str] = {}
        self.seen: dict[Key, str | None] = {}  # this cycle's check; None: unreadable

    def begin(self) -> None:
        """A new poll: what the last one saw no longer says anything."""
        self.seen = {}

    def end(self) -> None:
        """Marks of queues this poll did not check are dropped (definitions removed, a server
        down): such a queue is read in full when it is seen again."""
        self.held = {key: last for key, last in self.held.items() if key in self.seen}

    def asked(self, redis_url: str, queue: str) -> str:
        """The id to hand the check for ``queue`` ("" when none is held)."""
        return self.held.get((redis_url, queue), "")

    def saw(self, redis_url: str, queue: str, last: str | None) -> None:
        """The check's view of the queue's events stream: its last entry id, None unread."""
        self.seen[(redis_url, queue)] = last

    def due(self, redis_url: str, queues: Iterable[str]) -> list[str]:
        """Of ``queues`` (one server's), those to ingest this cycle, in their order."""
        out = []
        for queue in queues:
            key = (redis_url, queue)
            last = self.seen.get(key)
            if last is None or self.held.get(key) != last:
                out.append(queue)
        return out

    def done(self, redis_url: str, queues: Iterable[str]) -> None:
        """``queues`` were ingested to the end of their events: mark what the check saw."""
        for queue in queues:
            key = (redis_url, queue)
            last = self.seen.get(key)
            if last is None:
                self.held.pop(key, None)
            else:
                self.held[key] = last

    def failed(self, redis_url: str, queues: Iterable[str]) -> None:
        """``queues`` were not ingested (or not to the end): read them again next cycle."""
        for queue in queues:
            self.held.pop((redis_url, queue), None)
