"""Claims by foreign consumers, inferred from the pending lists of plain streams.

Redis emits no keyspace event for XCLAIM / XAUTOCLAIM, and clients that are not
StreamWarden's write no claimed event. So each poll the monitor keeps, per watched group
of a plain stream, the oldest N entries of its pending list (id, owner, delivery count;
one ``XPENDING key group - + N`` per group) and compares them with the previous poll:

- owner changed and delivery count rose: a claim from the old owner to the new one;
- same owner and delivery count rose: a redelivery (counted, not a claim).

Library queues are never sampled: their claimed events are exact and stay the truth.
The view lives only for as long as this monitor holds the lease without a break (a
monitor taking over starts from a new baseline); an inferred claim's event id is derived
from (group, message id, delivery count), so a claim recorded twice — by two monitors
overlapping, or one retrying a failed write — is one alert row.

Limits (see README "Watching any stream"): a claim followed by an ACK within one poll
interval is not seen; only the oldest N entries of each group are watched; a claim with
JUSTID (the count does not rise) is not a claim here; several claims of one entry
between two polls are one (from the first owner to the last); on a stream the change check
found still, claims that cancel out and same-owner redeliveries wait for its turn (see
``PendingWatch.poll``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dashboard.monitor.names import clean_name
from dashboard.monitor.poller import turn_slot
from dashboard.monitor.types import QueueSnapshot
from queues.types import PendingEntry, PlainStream

log = logging.getLogger(__name__)

#: Claims kept for a retry while the database is down, at most (the newest are kept).
MAX_UNRECORDED = 20_000
#: A view of one group's pending list: message id -> (owner, delivery count).
View = dict[str, tuple[str, int]]


@dataclass(frozen=True)
class InferredClaim:
    """One claim seen between two polls, in the shape of a library claimed event."""

    queue: str  # the definition's name
    group: str
    message_id: str
    previous_owner: str
    new_owner: str
    deliveries: int
    idle_ms: int
    at_ms: int

    @property
    def event_id(self) -> str:
        """Stable id of this claim: the same (group, entry, delivery count) is one claim."""
        digest = hashlib.sha256(
            f"{self.group}\0{self.message_id}\0{self.deliveries}".encode()
        ).hexdigest()
        return f"inferred:{digest[:40]}"

    def details(self) -> dict[str, Any]:
        """The alert row's details: the fields of a library claimed event, plus inferred."""
        return {
            "type": "claimed",
            "id": self.message_id,
            "group": self.group,
            "previous_owner": self.previous_owner,
            "new_owner": self.new_owner,
            "deliveries": self.deliveries,
            "idle_ms": self.idle_ms,
            "time": self.at_ms,
            "inferred": True,
        }


@dataclass(frozen=True)
class Comparison:
    claims: tuple[tuple[PendingEntry, str], ...]  # (entry now, previous owner)
    redeliveries: int


def compare(previous: View, current: Sequence[PendingEntry]) -> Comparison:
    """What happened to the entries seen in both views (decision only, no I/O)."""
    claims = []
    redeliveries = 0
    for entry in current:
        seen = previous.get(entry.id)
        if seen is None:
            continue  # new in the window: nothing to compare with
        owner, deliveries = seen
        if entry.deliveries <= deliveries:
            continue
        if entry.consumer != owner:
            claims.append((entry, owner))
        else:
            redeliveries += entry.deliveries - deliveries
    return Comparison(tuple(claims), redeliveries)


def view_of(entries: Iterable[PendingEntry]) -> View:
    return {e.id: (e.consumer, e.deliveries) for e in entries}


@dataclass
class PendingWatch:
    """The monitor's memory of plain streams' pending lists between polls."""

    sample: int = 1000
    views: dict[tuple[str, str], View] = field(default_factory=dict)
    #: Redeliveries seen per (queue, group) since this monitor started watching.
    redeliveries: dict[tuple[str, str], int] = field(default_factory=dict)
    #: Claims not yet stored (a database outage): retried next cycle, idempotently.
    unrecorded: list[InferredClaim] = field(default_factory=list)
    last_commands: int = 0
    #: A still stream's groups are sampled once in this many polls (staggered by name).
    refresh_every: int = 30
    turn: int = 0

    def reset(self) -> None:
        """Forget every view: the lease was not held without a break, so what this monitor
        saw last may be old; the next poll is a new baseline."""
        self.views.clear()

    def poll(
        self,
        snapshots: Sequence[QueueSnapshot],
        streams: dict[str, str],
        manager_for: Callable[[str], Any],
        at_ms: int,
        still: Collection[str] = (),
    ) -> list[InferredClaim]:
        """Sample the pending lists of the plain streams among ``snapshots`` (``streams``:
        definition name -> stream key), one pipelined batch per Redis; return the claims
        seen since the last poll. A Redis that fails is skipped (its views are kept).

        ``still``: the streams the poll's change check found unchanged. Each consumer's
        pending count is in that check, so a claim from one consumer to another changes
        it; what it cannot tell (two claims that cancel out, a redelivery to the same
        owner) is seen at the stream's turn, once in ``refresh_every`` polls: the cost of
        watching still streams stays one check each, not a command per group per poll."""
        self.turn += 1
        every = max(1, self.refresh_every)
        wanted: dict[str, list[tuple[QueueSnapshot, str]]] = {}
        empty: set[tuple[str, str]] = set()
        kept: set[tuple[str, str]] = set()
        for s in snapshots:
            key = streams.get(s.name)
            if not key or not s.exists or s.error or s.unreadable:
                continue
            resting = s.name in still and turn_slot(s.name, every) != self.turn % every
            for g in s.groups:
                if g.unreadable:
                    continue
                if g.pending == 0:
                    # nothing pending at this poll: an empty view, without a command
                    empty.add((s.name, g.name))
                elif resting and (s.name, g.name) in self.views:
                    kept.add((s.name, g.name))  # as at its last sample
                else:
                    wanted.setdefault(s.redis_url, []).append((s, g.name))
        for pair in empty:
            self.views[pair] = {}
        live = empty | kept | {(s.name, name) for pairs in wanted.values() for s, name in pairs}
        for gone in set(self.views) - live:  # groups deleted or no longer watched
            del self.views[gone]
        found: list[InferredClaim] = []
        for url, pairs in wanted.items():
            try:
                manager = manager_for(url)
                samples = manager.pending_sample(
                    [(PlainStream(streams[s.name]), name) for s, name in pairs], self.sample
                )
            except Exception as exc:  # noqa: BLE001 - one Redis must not stop the others
                log.warning("monitor: pending lists of plain streams not sampled: %r", exc)
                continue
            for (s, group), entries in zip(pairs, samples, strict=True):
                found += self._compare((s.name, group), entries, at_ms)
        return found

    def annotate(self, snapshot: QueueSnapshot) -> QueueSnapshot:
        """``snapshot`` with each group's redelivery count, for a plain stream."""
        if not snapshot.plain:
            return snapshot
        groups = tuple(
            dataclasses.replace(g, redeliveries=self.redeliveries.get((snapshot.name, g.name), 0))
            for g in snapshot.groups
        )
        return dataclasses.replace(snapshot, groups=groups)

    def record(self, found: list[InferredClaim], store: Callable[..., Any]) -> None:
        """Store the claims found (and those a failed store left), through ``store``
        (the ``claims_inferred`` signal; the alerts app stores them). A DatabaseError keeps them for the next
        cycle; storing twice is harmless (idempotent on the event id)."""
        self.unrecorded = (self.unrecorded + found)[-MAX_UNRECORDED:]
        if not self.unrecorded:
            return
        store(
            claims=[
                {
                    "queue": c.queue,
                    "group": c.group,
                    "message_id": c.message_id,
                    "event_id": c.event_id,
                    "details": c.details(),
                }
                for c in self.unrecorded
            ]
        )
        self.unrecorded = []

    def _compare(
        self, key: tuple[str, str], entries: list[PendingEntry] | None, at_ms: int
    ) -> list[InferredClaim]:
        if entries is None:
            self.views.pop(key, None)  # the group went away: no baseline for a new one
            return []
        previous = self.views.get(key)
        self.views[key] = view_of(entries)
        if previous is None:
            return []  # the first sight of this group is the baseline
        seen = compare(previous, entries)
        if seen.redeliveries:
            self.redeliveries[key] = self.redeliveries.get(key, 0) + seen.redeliveries
        return [
            InferredClaim(
                queue=key[0],
                group=key[1],
                message_id=entry.id,
                previous_owner=clean_name(owner),
                new_owner=clean_name(entry.consumer),
                deliveries=entry.deliveries,
                idle_ms=entry.idle_ms,
                at_ms=at_ms,
            )
            for entry, owner in seen.claims
        ]
