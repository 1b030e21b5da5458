"""Manager: inspect and administer queues (streams), groups, dead letters and events."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from typing import Any

import redis

from queues import deadletter, discovery, events, info_plan
from queues import info as info_mod
from queues import trim as trim_mod
from queues.connection import RedisLike, address, by_slot, connect, is_cluster, unavailable_as_error
from queues.entries import text
from queues.exceptions import (
    ConsumerBusy,
    GroupExists,
    GroupNotFound,
    NotAStream,
    QueueNotFound,
    StreamNotFound,
)
from queues.health import Thresholds, evaluate
from queues.keys import (
    MAX_PRIORITY,
    REGISTRY,
    QueueKeys,
    queue_keys,
    stored_keys,
    validate_name,
)
from queues.scripts import Scripts
from queues.serializers import JSON, Serializer, resolve
from queues.types import (
    DeadLetter,
    Event,
    Health,
    PendingEntry,
    PlainStream,
    QueueInfo,
    StreamEntry,
    StreamPage,
)

REPLAY_CHUNK = deadletter.REPLAY_CHUNK
EVICTION_POLICY_TTL = 60.0
#: XPENDING commands per pipeline of pending_many (bounds one reply's size in memory).
PENDING_BATCH = 200
#: How often read_events looks for new events of streams spread over cluster nodes.
EVENT_POLL_INTERVAL = 0.05


class Manager:
    """Administration and monitoring of the queues on one Redis. Thread-safe.

    Reads are cheap and pipelined: ``info`` costs two round trips, ``info_many`` two round
    trips for any number of queues (three when some have priority levels). Every method raises QueueUnavailable when Redis cannot
    be reached.
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

    # ------------------------------------------------------------------ queues

    def queues(self) -> list[str]:
        """Names of the known queues (registered by producers, consumers, create_queue)."""
        with unavailable_as_error(self.address):
            return sorted(text(name) for name in self.client.smembers(REGISTRY))

    def create_queue(self, name: str) -> bool:
        """Register ``name`` and create its (empty) stream; False when the stream existed."""
        keys = queue_keys(name)
        with unavailable_as_error(self.address):
            self.client.sadd(REGISTRY, name)
            if self.client.exists(keys.stream):
                return False
            # XADD with MAXLEN 0 leaves an empty stream behind: a stream with no entries
            self.client.xadd(keys.stream, {"_": ""}, maxlen=0)
            return True

    def delete_queue(self, name: str) -> bool:
        """Delete every key of the queue (stream, groups, delayed, dead letters, events)."""
        with unavailable_as_error(self.address):
            pipe = self.client.pipeline(transaction=False)
            for key in stored_keys(name):
                pipe.delete(key)  # one key per DEL: a cluster pipeline routes by key
            pipe.srem(REGISTRY, name)
            replies = pipe.execute()
        return any(replies)

    def purge(self, name: str, *, dead: bool = False) -> int:
        """Remove every entry and delayed message of every priority level and forget the
        de-duplication keys (groups stay, moved to the end, their pending entries
        acknowledged); with ``dead``, the dead letters too. Returns the number of stream
        entries removed. Events, reply streams and ordered-mode locks stay."""
        keys = queue_keys(name)
        with unavailable_as_error(self.address):
            removed = self._scripts.purge(*purge_call(name))
            # after the script: a marker must not outlive the message it stands for
            markers = dedup_markers(
                keys, self.client.scan_iter(match=keys.dedup_pattern, count=1000)
            )
            for key in markers:
                self.client.delete(key)  # one key per DEL: cluster-safe
            if dead:
                self.client.delete(keys.dead)
        return int(removed)

    def trim(self, name: str, *, maxlen: int | None = None, approximate: bool = False) -> int:
        """Remove entries every group has received and acknowledged; return how many.

        With ``maxlen``, keep at least the newest ``maxlen`` entries too. Never removes an
        undelivered or pending entry, so the stream may stay longer than ``maxlen``. Raises
        TrimRefused when the stream has no groups (then no entry is known to be delivered).
        """
        keys = queue_keys(name)
        with unavailable_as_error(self.address):
            reply = self._scripts.trim(keys=[keys.stream], args=trim_mod.args(approximate, maxlen))
        return trim_mod.parse_reply(name, reply).removed

    def trim_risk(self, name: str, maxlen: int, *, limit: int = 100_000) -> trim_mod.TrimRisk:
        """What a blind ``XTRIM MAXLEN maxlen`` would drop that groups still need: entries
        removed, and per group how many of them are undelivered or pending. Read-only;
        walks at most ``limit`` entries per count (beyond that ``exact`` is False)."""
        keys = queue_keys(name)
        trim_mod.args(False, maxlen)
        with unavailable_as_error(self.address):
            reply = self._scripts.trim_risk(keys=[keys.stream], args=[maxlen, max(1, limit)])
        return trim_mod.parse_risk(maxlen, reply)

    # ------------------------------------------------------------------ groups

    def create_group(self, queue: str, group: str, start: str = "$") -> None:
        """Create ``group`` reading from ``start`` ("$": only new messages, "0": all)."""
        keys = queue_keys(queue)
        validate_name(group, "group name")
        with unavailable_as_error(self.address):
            try:
                self.client.xgroup_create(keys.stream, group, id=start, mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" in str(exc):
                    raise GroupExists(f"group {group!r} already exists on queue {queue!r}") from exc
                raise
            self.client.sadd(REGISTRY, queue)

    def delete_group(self, queue: str, group: str) -> bool:
        """Destroy the group and its pending entries list; False when there was none."""
        keys = queue_keys(queue)
        with unavailable_as_error(self.address):
            try:
                return bool(self.client.xgroup_destroy(keys.stream, group))
            except redis.ResponseError as exc:
                if "no such key" in str(exc).lower():
                    return False
                raise

    def set_group_id(
        self, queue: str, group: str, entry_id: str, *, entries_read: int | None = None
    ) -> None:
        """Move the group's last-delivered id (rewind to re-deliver, or skip ahead)."""
        keys = queue_keys(queue)
        with unavailable_as_error(self.address):
            try:
                self.client.xgroup_setid(keys.stream, group, entry_id, entries_read=entries_read)
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc) or "no such key" in str(exc).lower():
                    raise GroupNotFound(f"no group {group!r} on queue {queue!r}") from exc
                raise

    def delete_consumer(
        self,
        queue: str,
        group: str,
        consumer: str,
        *,
        force: bool = False,
        hand_to: str | None = None,
    ) -> int:
        """Remove a consumer from the group; return the pending entries it owned.

        Refuses (ConsumerBusy) while it owns pending entries, because deleting it drops
        them from the group. ``hand_to`` first gives every one of them to that consumer
        (XCLAIM, delivery counts unchanged) in the same atomic step, so none is lost: they
        are redelivered like any idle pending entry. ``force=True`` deletes and drops them.
        """
        call = delete_consumer_call(queue, group, consumer, force, hand_to)
        with unavailable_as_error(self.address):
            try:
                reply = self._scripts.delete_consumer(*call)
            except redis.ResponseError as exc:
                raise group_error(queue, group, exc) from exc
        return consumer_deleted(consumer, reply, force, hand_to)

    # ------------------------------------------------------------------ inspection

    def info(self, name: str) -> QueueInfo:
        """Snapshot of one queue (two pipelined round trips). QueueNotFound when the
        queue is neither registered nor has a stream."""
        result = self.info_many([name])[0]
        if not result.exists and not self._registered(name) and not (result.dead or result.delayed):
            raise QueueNotFound(f"no queue {name!r} at {self.address}")
        return result

    def stream_info(self, key: str | bytes) -> QueueInfo:
        """Snapshot of any stream key as a plain stream (``plain`` True; ``dead``,
        ``delayed`` and ``parked`` None: only StreamWarden queues keep them). Raises
        StreamNotFound when the key does not exist, NotAStream when it holds another type."""
        return checked_stream_info(self.info_many([PlainStream(key)])[0], self.address)

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

    def stream_pending(
        self, key: str | bytes, group: str | bytes, count: int = 100, *, start: str = "-"
    ) -> list[PendingEntry]:
        """Pending entries of a group of any stream, oldest first (XPENDING detail)."""
        return self.pending_many([(PlainStream(key), group)], count, start=start)[0]

    def pending_many(
        self,
        groups: Sequence[tuple[str | PlainStream, str | bytes]],
        count: int = 100,
        *,
        start: str = "-",
    ) -> list[list[PendingEntry]]:
        """The oldest ``count`` pending entries of each (queue or PlainStream, group), in
        pipelined batches. GroupNotFound names the first group that is gone."""
        return pending_lists(groups, self._pending_replies(groups, count, start), self.address)

    def pending_sample(
        self, groups: Sequence[tuple[str | PlainStream, str | bytes]], count: int = 1000
    ) -> list[list[PendingEntry] | None]:
        """Like ``pending_many`` but never failing the batch for one group: None for a
        group (or stream) that is gone, of another type, or whose reply does not decode."""
        return pending_samples(self._pending_replies(groups, count, "-"))

    def _pending_replies(
        self, groups: Sequence[tuple[str | PlainStream, str | bytes]], count: int, start: str
    ) -> list[Any]:
        replies: list[Any] = []
        with unavailable_as_error(self.address):
            for offset in range(0, len(groups), PENDING_BATCH):
                pipe = self.client.pipeline(transaction=False)
                for key, group in pending_targets(groups[offset : offset + PENDING_BATCH]):
                    pipe.xpending_range(key, group, min=start, max="+", count=count)
                replies += pipe.execute(raise_on_error=False)
        return replies

    def streams(self, match: str = "*", count: int = 1000, *, cursor: str = "0") -> StreamPage:
        """One bounded page of the stream keys matching ``match`` (``SCAN … TYPE stream``,
        never ``KEYS``), each a StreamWarden queue or a plain stream; the library's own
        streams (events, dead letters, replies, priority levels) are left out.

        A page holds about ``count`` streams (SCAN may return a few more) and makes at most
        ``discovery.MAX_SCAN_CALLS`` SCAN calls of COUNT ``count``, so a pattern matching
        few of many keys returns early with fewer. Pass ``page.cursor`` back for the next
        page; ``page.done`` (cursor "0") at the end. Keys added meanwhile may be missed or
        listed twice, as SCAN guarantees no better. On a cluster each primary is walked.
        """
        discovery.check_page_args(match, count)
        with unavailable_as_error(self.address):
            nodes: list[Any] = (
                [self.client.get_redis_connection(n) for n in self.client.get_primaries()]  # type: ignore[union-attr]
                if is_cluster(self.client)
                else [self.client]
            )
            node, scan = discovery.parse_cursor(cursor, len(nodes))
            keys: list[Any] = []
            calls = 0
            while True:
                scan, found = nodes[node].scan(
                    cursor=scan, match=match, count=discovery.scan_count(count), _type="stream"
                )
                calls += 1
                keys.extend(found)
                next_cursor = discovery.next_cursor(node, int(scan), len(nodes))
                if next_cursor == "0" or discovery.page_full(len(keys), count, calls):
                    break
                node, scan = discovery.parse_cursor(next_cursor, len(nodes))
        return StreamPage(tuple(discovery.classify_all(keys)), next_cursor)

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

    def pending(
        self,
        queue: str,
        group: str,
        count: int = 100,
        *,
        consumer: str | None = None,
        start: str = "-",
        end: str = "+",
        min_idle_ms: int | None = None,
    ) -> list[PendingEntry]:
        """Pending entries of the group, oldest first (XPENDING detail)."""
        keys = queue_keys(queue)
        with unavailable_as_error(self.address):
            try:
                rows = self.client.xpending_range(
                    keys.stream,
                    group,
                    min=start,
                    max=end,
                    count=count,
                    consumername=consumer,
                    idle=min_idle_ms,
                )
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc):
                    raise GroupNotFound(f"no group {group!r} on queue {queue!r}") from exc
                raise
        return info_mod.pending_entries(rows)

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
            self.info(name), thresholds or Thresholds(), eviction_policy=self.eviction_policy()
        )

    # ------------------------------------------------------------------ dead letters

    def dead_letters(
        self,
        queue: str,
        count: int = 100,
        *,
        start: str = "-",
        end: str = "+",
        newest_first: bool = False,
    ) -> list[DeadLetter]:
        """Dead letters of the queue with ids from ``start`` to ``end`` (inclusive; "(" before
        an id excludes it), oldest first, or newest first with ``newest_first``."""
        keys = queue_keys(queue)
        with unavailable_as_error(self.address):
            if newest_first:
                rows: Any = self.client.xrevrange(keys.dead, end, start, count=count)
            else:
                rows = self.client.xrange(keys.dead, start, end, count=count)
        return [deadletter.parse(i, f, self._serializers) for i, f in rows]

    def dead_letter_count(self, queue: str) -> int:
        """How many dead letters the queue holds."""
        with unavailable_as_error(self.address):
            return int(self.client.xlen(queue_keys(queue).dead))

    def replay_dead_letters(self, queue: str, ids: Sequence[str] | None = None) -> int:
        """Publish dead letters again (to the group that failed them, at the priority level
        they failed at) and remove them from the dead-letter stream; all of them when
        ``ids`` is None (those present when the call starts, not those dead-lettered while
        it runs). Returns how many. Raises ReplayRefused, after replaying the others, when
        some belong to a group that does not read their stream (left in place)."""
        keys = queue_keys(queue)
        tally = deadletter.ReplayTally(queue)
        with unavailable_as_error(self.address):
            for chunk in self._dead_chunks(keys, ids):
                call_keys, args = deadletter.replay_call(keys, queue, chunk)
                tally.add(self._scripts.replay(keys=call_keys, args=args))
        return tally.result()

    def delete_dead_letters(self, queue: str, ids: Sequence[str] | None = None) -> int:
        """Delete dead letters (all when ``ids`` is None); return how many."""
        keys = queue_keys(queue)
        with unavailable_as_error(self.address):
            if ids is None:
                pipe = self.client.pipeline(transaction=True)
                pipe.xlen(keys.dead)
                pipe.delete(keys.dead)
                count, _ = pipe.execute()
                return int(count)
            if not ids:
                return 0
            return int(self.client.xdel(keys.dead, *ids))

    def _dead_chunks(self, keys: QueueKeys, ids: Sequence[str] | None) -> Iterable[list[str]]:
        if ids is not None:
            ids = list(ids)
            for start in range(0, len(ids), REPLAY_CHUNK):
                yield ids[start : start + REPLAY_CHUNK]
            return
        # Walk by id up to the newest dead letter now: entries left in place are passed
        # over, and those written during the walk are not replayed again and again.
        newest: Any = self.client.xrevrange(keys.dead, "+", "-", count=1)
        if not newest:
            return
        cursor, end = "-", text(newest[0][0])
        while True:
            rows = self.client.xrange(keys.dead, cursor, end, count=REPLAY_CHUNK)
            if not rows:
                return
            chunk = [text(entry_id) for entry_id, _ in rows]
            yield chunk
            cursor = f"({chunk[-1]}"

    # ------------------------------------------------------------------ events

    def events(self, count: int = 100, queue: str | None = None) -> list[Event]:
        """The ``count`` most recent library events (of one queue or all), newest last."""
        names = [queue] if queue is not None else self.queues()
        with unavailable_as_error(self.address):
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.xrevrange(queue_keys(name).events, "+", "-", count=count)
            replies = pipe.execute() if names else []
        streams = [[events.parse(i, f) for i, f in rows] for rows in replies]
        return events.merge_newest(streams, count)

    def read_events(
        self,
        queues: Sequence[str],
        group: str,
        consumer: str,
        *,
        count: int = 100,
        block_ms: int | None = None,
        claim_idle_ms: int = 60_000,
    ) -> list[Event]:
        """Read library events of ``queues`` through consumer group ``group`` (at least once).

        Returns, in this order of preference: events this consumer read before but never
        acknowledged (it crashed before recording them), events another consumer of the
        group left pending longer than ``claim_idle_ms``, then new events (waiting up to
        ``block_ms`` for some; None = do not wait). Acknowledge each after recording it
        with ack_events(). The group is created at the start of each events stream, so no
        event written before the first read is missed. Blocking only with ``block_ms``.
        """
        streams = {queue_keys(q).events: q for q in queues}
        if not streams:
            return []
        with unavailable_as_error(self.address):
            try:
                return self._read_events(streams, group, consumer, count, block_ms, claim_idle_ms)
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # a stream was deleted (or Redis restarted empty): create the groups again
                self._event_groups.clear()
                return self._read_events(streams, group, consumer, count, block_ms, claim_idle_ms)

    def ack_events(self, group: str, acked: Iterable[Event]) -> int:
        """Acknowledge events read with read_events(); return how many were pending."""
        by_queue = events_by_queue(acked)
        if not by_queue:
            return 0
        with unavailable_as_error(self.address):
            pipe = self.client.pipeline(transaction=False)
            for queue, ids in by_queue.items():
                pipe.xack(queue_keys(queue).events, group, *ids)
            return sum(int(n) for n in pipe.execute())

    def _read_events(
        self,
        streams: dict[str, str],
        group: str,
        consumer: str,
        count: int,
        block_ms: int | None,
        claim_idle_ms: int,
    ) -> list[Event]:
        missing = [key for key in streams if (key, group) not in self._event_groups]
        if missing:
            pipe = self.client.pipeline(transaction=False)
            for key in missing:
                pipe.xgroup_create(key, group, id="0", mkstream=True)
            created = pipe.execute(raise_on_error=False)
            self._event_groups.update(event_groups_made(missing, group, created))
        # XREADGROUP names several streams only within one hash slot on a cluster
        batches = by_slot(self.client, streams)
        # 1. our own pending events: read but never acknowledged
        found = []
        for batch in batches:
            own = self.client.xreadgroup(group, consumer, dict.fromkeys(batch, "0"), count=count)
            found += self._events_of(own, streams, group)
        if found:
            return found
        # 2. pending events of a consumer of the group that went away
        pipe = self.client.pipeline(transaction=False)
        for key in streams:
            pipe.xautoclaim(key, group, consumer, claim_idle_ms, start_id="0-0", count=count)
        found = claimed_events(streams, pipe.execute())
        if found:
            return found
        # 3. new events
        if len(batches) == 1:
            new = self.client.xreadgroup(
                group, consumer, dict.fromkeys(streams, ">"), count=count, block=block_ms
            )
            return self._events_of(new, streams, group)
        # streams on several cluster nodes: no single blocking read covers them, so poll
        deadline = None if not block_ms else time.monotonic() + block_ms / 1000
        while True:
            for batch in batches:
                new = self.client.xreadgroup(
                    group, consumer, dict.fromkeys(batch, ">"), count=count
                )
                found += self._events_of(new, streams, group)
            if found or block_ms is None:
                return found
            if deadline is not None and time.monotonic() >= deadline:
                return found
            time.sleep(EVENT_POLL_INTERVAL)

    def _events_of(self, reply: Any, streams: dict[str, str], group: str) -> list[Event]:
        found, gone = read_events_of(reply, streams)
        for key, ids in gone.items():
            self.client.xack(key, group, *ids)
        return found

    # ------------------------------------------------------------------ helpers

    def _registered(self, name: str) -> bool:
        with unavailable_as_error(self.address):
            return bool(self.client.sismember(REGISTRY, name))

    def close(self) -> None:
        """Release the connections of a client the manager created from a URL."""
        if self._owns_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"<Manager at {self.address}>"


def checked_stream_info(result: QueueInfo, where: str) -> QueueInfo:
    """``result`` of one plain stream, or the error saying why there is none."""
    if "WRONGTYPE" in result.unreadable:
        raise NotAStream(f"{result.unreadable} at {where}")
    if not result.exists:
        raise StreamNotFound(f"no key {result.name!r} at {where}")
    return result


def stream_error(key: Any, exc: Exception, where: str) -> Exception:
    """NotAStream for WRONGTYPE, else the error as Redis gave it."""
    if "WRONGTYPE" in str(exc):
        return NotAStream(f"key {key!r} is not a stream (WRONGTYPE) at {where}")
    return exc


# ---------------------------------------------------------------------- sans-I/O decisions
# Shared by Manager and queues.aio.Manager: what to send and what a reply means.


def purge_call(name: str) -> tuple[list[str], list[Any]]:
    """Keys and arguments of purge.lua for queue ``name`` (every priority level)."""
    keys = queue_keys(name)
    levels = [queue_keys(name, level) for level in range(1, MAX_PRIORITY + 1)]
    return [
        keys.stream,
        keys.delayed,
        keys.events,
        *(key for level in levels for key in (level.stream, level.delayed)),
    ], [name, events.MAX_EVENTS]


def dedup_markers(keys: QueueKeys, scanned: Iterable[Any]) -> list[str]:
    """The de-duplication marker keys of this queue among SCAN results of its pattern
    (the glob may also match another queue whose name extends this one)."""
    prefix = keys.dedup("")
    return [key for key in map(text, scanned) if key.startswith(prefix)]


def delete_consumer_call(
    queue: str, group: str, consumer: str, force: bool, hand_to: str | None
) -> tuple[list[str], list[str]]:
    """Checked keys and arguments of delete_consumer.lua."""
    if hand_to is not None:
        validate_name(hand_to, "consumer name")
        if hand_to == consumer:
            raise ValueError("hand_to must name another consumer than the one deleted")
    return [queue_keys(queue).stream], [group, consumer, "1" if force else "0", hand_to or ""]


def consumer_deleted(consumer: str, reply: Any, force: bool, hand_to: str | None) -> int:
    """Pending entries the deleted consumer owned; ConsumerBusy when it was refused."""
    _existed, owned, _handed = reply
    if int(owned) and not force and hand_to is None:
        raise ConsumerBusy(consumer, int(owned))
    return int(owned)


def group_error(queue: str, group: str, exc: redis.ResponseError) -> Exception:
    """GroupNotFound for NOGROUP, else the error as Redis gave it."""
    if "NOGROUP" in str(exc):
        return GroupNotFound(f"no group {group!r} on queue {queue!r}")
    return exc


def policy_of(reply: Any) -> str | None:
    """maxmemory-policy from a CONFIG GET reply; None when absent."""
    policy = reply.get("maxmemory-policy") or reply.get(b"maxmemory-policy")
    return text(policy) if policy else None


def event_groups_made(missing: list[str], group: str, replies: list[Any]) -> set[tuple[str, str]]:
    """(events key, group) pairs that exist after XGROUP CREATE; other errors raise."""
    for result in replies:
        if isinstance(result, Exception) and "BUSYGROUP" not in str(result):
            raise result
    return {(key, group) for key in missing}


def events_by_queue(acked: Iterable[Event]) -> dict[str, list[str]]:
    by_queue: dict[str, list[str]] = {}
    for event in acked:
        by_queue.setdefault(event.queue, []).append(event.id)
    return by_queue


def claimed_events(streams: dict[str, str], replies: list[Any]) -> list[Event]:
    """Events of XAUTOCLAIM replies, one reply per key of ``streams`` in order."""
    found = []
    for key, reply in zip(streams, replies, strict=True):
        for entry_id, fields in reply[1]:
            if fields:
                found.append(event_of(entry_id, fields, streams[key]))
    return found


def read_events_of(reply: Any, streams: dict[str, str]) -> tuple[list[Event], dict[str, list[Any]]]:
    """Events of an XREADGROUP reply, and per key the ids to acknowledge because the capped
    events stream dropped them while they were pending."""
    found: list[Event] = []
    gone: dict[str, list[Any]] = {}
    items = reply.items() if isinstance(reply, dict) else (reply or [])
    for key, rows in items:
        queue = streams[text(key)]
        for entry_id, fields in rows:
            if fields:
                found.append(event_of(entry_id, fields, queue))
            else:
                gone.setdefault(text(key), []).append(entry_id)
    return found, gone


def event_of(entry_id: Any, fields: Any, queue: str) -> Event:
    event = events.parse(entry_id, fields)
    if event.queue != queue:  # events written by hand may lack the queue field
        event = dataclasses.replace(event, queue=queue)
    return event


def pending_targets(
    groups: Sequence[tuple[str | PlainStream, str | bytes]],
) -> list[tuple[str | bytes, str | bytes]]:
    """(stream key, group) of each (queue or PlainStream, group)."""
    return [
        (target.key if isinstance(target, PlainStream) else queue_keys(target).stream, group)
        for target, group in groups
    ]


def pending_lists(
    groups: Sequence[tuple[str | PlainStream, str | bytes]], replies: list[Any], where: str
) -> list[list[PendingEntry]]:
    """pending_many's reading of XPENDING replies: GroupNotFound names the first group that
    is gone, NotAStream a key of another type."""
    out = []
    for (target, group), rows in zip(groups, replies, strict=True):
        if isinstance(rows, Exception):
            name = target.key if isinstance(target, PlainStream) else target
            if "NOGROUP" in str(rows):
                raise GroupNotFound(f"no group {group!r} on {name!r}") from rows
            raise stream_error(name, rows, where) from rows
        out.append(info_mod.pending_entries(rows))
    return out


def pending_samples(replies: list[Any]) -> list[list[PendingEntry] | None]:
    """pending_sample's reading: None for a reply that is an error or does not decode."""
    out: list[list[PendingEntry] | None] = []
    for rows in replies:
        try:
            out.append(None if isinstance(rows, Exception) else info_mod.pending_entries(rows))
        except info_mod.DECODE_ERRORS:
            out.append(None)
    return out
