"""Manager: inspect and administer queues (streams), groups, dead letters and events.

The Manager is composed of parts by concern in ``queues.admin``: ``operations`` (queues,
trims, groups, consumers), ``inspection``, ``pending``, ``dead_letters``, ``event_feed``;
what to send and what a reply means, shared with queues.aio.Manager, is in
``queues.admin.calls``. ``operations``, ``pending`` and ``dead_letters`` are generated from
their asyncio twins in ``queues.aio.admin`` (tests/support/unasync_twins.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from queues import deadletter, info_watch
from queues import info as info_mod
from queues.admin.calls import (  # noqa: F401 - re-exported, their home before queues.admin
    EVENT_POLL_INTERVAL,
    EVICTION_POLICY_TTL,
    PENDING_BATCH,
    checked_stream_info,
    consumer_deleted,
    dedup_markers,
    delete_consumer_call,
    group_error,
    purge_call,
    stream_error,
)
from queues.admin.dead_letters import DeadLetters
from queues.admin.event_feed import EventFeed
from queues.admin.inspection import Inspection
from queues.admin.operations import Operations
from queues.admin.pending import PendingReads
from queues.admin.streams import StreamDiscovery
from queues.connection import RedisLike, address, connect, unavailable_as_error
from queues.keys import QueueKeys, queue_keys
from queues.scripts import Scripts
from queues.serializers import JSON, Serializer, resolve
from queues.types import PlainStream

REPLAY_CHUNK = deadletter.REPLAY_CHUNK


class Manager(Operations, Inspection, StreamDiscovery, PendingReads, DeadLetters, EventFeed):
    """Administration and monitoring of the queues on one Redis. Thread-safe.

    Reads are cheap and pipelined: ``info`` costs two round trips, ``info_many`` two round
    trips for any number of queues (three when some have priority levels). Every method
    raises QueueUnavailable when Redis cannot be reached.
    """

    def __init__(
        self,
        redis: RedisLike,
        *,
        active_idle_ms: int = info_mod.DEFAULT_ACTIVE_IDLE_MS,
        serializer: Serializer | None = None,
    ) -> None:
        self.client = connect(redis)
        self._owns_client = self.client is not redis
        self.address = address(self.client)
        self.active_idle_ms = active_idle_ms
        serializer = resolve(serializer)
        self._serializers = {JSON.content_type: JSON, serializer.content_type: serializer}
        self._scripts = Scripts(self.client)
        self._policy: tuple[float, str | None] | None = None
        self._event_groups: set[tuple[str, str]] = set()
        # The keys of the queues of the last ``changes_by_batch`` (a monitor asks about the
        # same 10 000 names every second; only those of the last call are kept).
        self._watched_keys: dict[str, QueueKeys] = {}

    def close(self) -> None:
        """Release the connections of a client the manager created from a URL."""
        if self._owns_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"<Manager at {self.address}>"

    def changes(
        self,
        names: Sequence[str | PlainStream],
        held: Sequence[str],
        levels: Sequence[Sequence[int]] | None = None,
        *,
        batch: int = info_watch.BATCH,
        events: Sequence[str] | None = None,
    ) -> info_watch.Changes | None:
        """Which of ``names`` changed since the fingerprints ``held`` were taken ("" for one
        never seen), in one pipelined round trip of script calls; only the changed ones come
        back, with their new fingerprints and what the check read of them
        (``queues.info_watch``). ``levels``: the priority levels each queue had when its
        fingerprint was taken. ``events``: the last events id held per name ("" = none);
        ``Changes.events`` then lists the queues whose events stream moved past it (one
        ``XREVRANGE COUNT 1`` more per queue). None on a Redis Cluster."""
        parts = self.changes_by_batch(names, held, levels, batch=batch, events=events)
        if parts is None:
            return None
        with unavailable_as_error(self.address):
            return info_watch.merged(parts)

    def changes_by_batch(
        self,
        names: Sequence[str | PlainStream],
        held: Sequence[str],
        levels: Sequence[Sequence[int]] | None = None,
        *,
        batch: int = info_watch.BATCH,
        events: Sequence[str] | None = None,
    ) -> Iterator[info_watch.Changes] | None:
        """``changes`` one script call at a time, as each reply arrives (run it to its end;
        it raises QueueUnavailable when Redis cannot be reached)."""
        known = self._watched_keys
        kept: dict[str, QueueKeys] = {}
        all_keys: list[info_mod.Target] = []
        for n in names:
            if isinstance(n, PlainStream):
                all_keys.append(info_mod.plain_keys(n.key))
                continue
            keys = known.get(n)
            if keys is None:
                keys = queue_keys(n)
            kept[n] = keys
            all_keys.append(keys)
        self._watched_keys = kept
        parts = info_watch.changes_by_batch(
            self.client,
            all_keys,
            held,
            levels,
            active_idle_ms=self.active_idle_ms,
            batch=batch,
            events=events,
        )
        return None if parts is None else self._unavailable_as_error(parts)

    def _unavailable_as_error(
        self, parts: Iterator[info_watch.Changes]
    ) -> Iterator[info_watch.Changes]:
        with unavailable_as_error(self.address):
            yield from parts
