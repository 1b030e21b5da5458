# Generated from queues/aio/admin/inspection.py by unasync: edit that file, then run
# `python -m tests.support.unasync_twins` (tests/queues/test_unasync_twins.py fails
# while this copy is stale).
"""The Manager's reads of queues and streams: info, entries, eviction policy, health.

queues/aio/admin/inspection.py is the source of both twins: queues/admin/inspection.py is
made from it by unasync (``python -m tests.support.unasync_twins``; a test fails when it is
stale).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import redis

from queues import info as info_mod
from queues import info_plan
from queues.admin.calls import EVICTION_POLICY_TTL, checked_stream_info, policy_of, stream_error
from queues.connection import Client, is_cluster, unavailable_as_error
from queues.exceptions import QueueNotFound
from queues.health import Thresholds, evaluate
from queues.keys import REGISTRY, queue_keys
from queues.types import Health, PlainStream, QueueInfo, StreamEntry


class Inspection:
    """The reads of queues.aio.Manager and (generated) queues.Manager: info, entries, eviction
    policy, health."""

    client: Client
    address: str
    active_idle_ms: int
    _policy: tuple[float, str | None] | None

    def info(self, name: str) -> QueueInfo:
        """Snapshot of one queue (two pipelined round trips). QueueNotFound when the
        queue is neither registered nor has a stream."""
        result = (self.info_many([name]))[0]
        if not result.exists and not self._registered(name) and not (result.dead or result.delayed):
            raise QueueNotFound(f"no queue {name!r} at {self.address}")
        return result

    def stream_info(self, key: str | bytes) -> QueueInfo:
        """Snapshot of any stream key as a plain stream (``plain`` True; ``dead``,
        ``delayed`` and ``parked`` None: only StreamWarden queues keep them). Raises
        StreamNotFound when the key does not exist, NotAStream when it holds another type."""
        return checked_stream_info((self.info_many([PlainStream(key)]))[0], self.address)

    def stream_entries(
        self,
        key: str | bytes,
        *,
        start: str = "-",
        end: str = "+",
        count: int = 50,
        reverse: bool = False,
    ) -> list[StreamEntry]:
        """Entries of any stream from ``start`` to ``end`` (XRANGE; with ``reverse``
        XREVRANGE, newest first, ``start`` then being the upper bound). Ids may be
        exclusive ("(1700000000000-0"). An empty list for a missing key; NotAStream for
        a key of another type."""
        if not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a positive integer, got {count!r}")
        with unavailable_as_error(self.address):
            try:
                if reverse:
                    rows: Any = self.client.xrevrange(key, start, end, count=count)
                else:
                    rows = self.client.xrange(key, start, end, count=count)
            except redis.ResponseError as exc:
                raise stream_error(key, exc, self.address) from exc
        return [info_mod.stream_entry(entry_id, fields) for entry_id, fields in rows]

    def info_many(self, names: Iterable[str | PlainStream]) -> list[QueueInfo]:
        """Snapshots of many queues in two pipelined round trips (three when some have
        priority levels); missing queues come back with ``exists=False``. A PlainStream
        among the names is read as a plain stream (see ``stream_info``); one whose key
        holds another type comes back with ``unreadable`` saying so."""
        all_keys = [
            info_mod.plain_keys(n.key) if isinstance(n, PlainStream) else queue_keys(n)
            for n in names
        ]
        if not all_keys:
            return []
        with unavailable_as_error(self.address):
            # A cluster pipeline cannot carry TIME (no key routes it): ask for it first.
            server_time = self.client.time() if is_cluster(self.client) else None
            return info_plan.run(
                self.client, info_plan.info_plan(all_keys, self.active_idle_ms, server_time)
            )

    def eviction_policy(self) -> str | None:
        """Redis maxmemory-policy (cached for a minute); None when CONFIG is disabled."""
        now = time.monotonic()
        if self._policy is not None and now - self._policy[0] < EVICTION_POLICY_TTL:
            return self._policy[1]
        with unavailable_as_error(self.address):
            try:
                policy = policy_of(self.client.config_get("maxmemory-policy"))
            except redis.ResponseError:
                policy = None
        self._policy = (now, policy)
        return policy

    def health(self, name: str, thresholds: Thresholds | None = None) -> Health:
        """ok / warn / alert of the queue's checks under ``thresholds`` (defaults if None)."""
        return evaluate(
            self.info(name),
            thresholds or Thresholds(),
            eviction_policy=self.eviction_policy(),
        )

    def _registered(self, name: str) -> bool:
        with unavailable_as_error(self.address):
            return bool(self.client.sismember(REGISTRY, name))
