"""Poll every watched queue through the library Manager; return typed snapshots and the cost.

Pure with respect to Django: it takes plain targets and returns values, so the benchmark
and the tests call it directly.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from dashboard.monitor.counting import commands_so_far
from dashboard.monitor.event_marks import EventMarks
from dashboard.monitor.names import clean_name
from dashboard.monitor.types import (
    ConsumerSnapshot,
    GroupSnapshot,
    PollCost,
    PollResult,
    QueueSnapshot,
)
from queues.exceptions import QueueUnavailable
from queues.info import DECODE_ERRORS, MAX_REASON, age_ms
from queues.info_watch import GroupHead, Head
from queues.keys import RETRY_CONSUMER, validate_name
from queues.redact import redact_url
from queues.types import PlainStream

log = logging.getLogger(__name__)

#: What makes one queue's (or one server's) replies unreadable without the server being
#: down: an error reply, or a reply of a shape the decoding did not expect.
UNREADABLE_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, *DECODE_ERRORS)

#: ``poll``'s ``on_read(snapshot, still)``.
OnRead = Callable[[QueueSnapshot, bool], None]


def unreadable(reason: str) -> str:
    """The text recorded on a snapshot, a group or a row that could not be read."""
    return clean_name(f"unreadable: {reason}", limit=MAX_REASON + 20)


@dataclass(frozen=True)
class Target:
    """What to poll: a queue definition reduced to plain values."""

    name: str
    queue: str
    redis_url: str
    groups: tuple[str, ...] = ()
    #: A plain stream's key (any stream, not a StreamWarden queue); "" for a library queue.
    stream: str = ""

    @property
    def info_target(self) -> Any:
        """What the library's info_many takes for it: a queue name or a PlainStream."""
        return PlainStream(self.stream) if self.stream else self.queue


@dataclass(frozen=True)
class Caps:
    """How much of one queue a snapshot keeps: any client can add groups and consumers,
    and each one costs websocket bytes, stored JSON and /metrics series."""

    groups: int = 10**9  # groups per queue (the others are counted in groups_omitted)
    consumers: int = 10**9  # consumers listed per group (counts stay exact)


#: What makes a Redis unreachable for this poll (the rest of its errors: unreadable).
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    OSError,
    QueueUnavailable,
)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _group(info: Any, active_idle_ms: int, caps: Caps = Caps()) -> GroupSnapshot:
    # The library's GroupInfo.consumers is the tuple of ConsumerInfo; the fallback keeps a
    # count there and the tuple in consumer_list.
    raw = _get(info, "consumers")
    consumers_raw = raw if isinstance(raw, list | tuple) else (_get(info, "consumer_list") or ())
    consumers = []
    for c in consumers_raw:
        idle = int(_get(c, "idle_ms", _get(c, "idle", 0)) or 0)
        active = _get(c, "active")
        consumers.append(
            ConsumerSnapshot(
                name=clean_name(str(_get(c, "name"))),
                pending=int(_get(c, "pending", 0) or 0),
                idle_ms=idle,
                active=idle < active_idle_ms if active is None else bool(active),
            )
        )
    count = len(consumers) if isinstance(raw, list | tuple) or raw is None else int(raw)
    active_count = _get(info, "active_consumers")
    reason = _get(info, "unreadable") or ""
    return GroupSnapshot(
        name=clean_name(str(_get(info, "name"))),
        unreadable=unreadable(reason) if reason else "",
        consumers=count,
        active_consumers=(
            sum(1 for c in consumers if c.active) if active_count is None else int(active_count)
        ),
        pending=int(_get(info, "pending", 0) or 0),
        parked=_int_or_none(_get(info, "parked", 0)),
        lag=_int_or_none(_get(info, "lag")),
        entries_read=_int_or_none(_get(info, "entries_read")),
        last_delivered_id=str(_get(info, "last_delivered_id", "") or ""),
        oldest_pending_ms=_int_or_none(_get(info, "oldest_pending_ms")),
        oldest_undelivered_ms=_int_or_none(_get(info, "oldest_undelivered_ms")),
        consumer_list=tuple(consumers[: caps.consumers]),
        consumers_omitted=max(0, len(consumers) - caps.consumers),
        duplicates=int(_get(info, "duplicates", 0) or 0),
    )


def snapshot_from_info(
    target: Target, info: Any, at_ms: int, active_idle_ms: int, caps: Caps = Caps()
) -> QueueSnapshot:
    """Convert the library's QueueInfo (or None for a missing stream) into a snapshot; one
    that cannot be read comes back with ``unreadable`` set (never raises on its contents)."""
    try:
        return _snapshot(target, info, at_ms, active_idle_ms, caps)
    except DECODE_ERRORS as exc:
        return _unreadable(target, at_ms, f"{type(exc).__name__}: {exc}")


def _unreadable(target: Target, at_ms: int, reason: str) -> QueueSnapshot:
    return QueueSnapshot(
        target.name, target.queue, target.redis_url, at_ms, unreadable=unreadable(reason)
    )


#: Unwatched group names listed per queue at most.
MAX_UNWATCHED = 100


def _snapshot(
    target: Target, info: Any, at_ms: int, active_idle_ms: int, caps: Caps
) -> QueueSnapshot:
    reason = _get(info, "unreadable") if info is not None else ""
    if reason:
        return _unreadable(target, at_ms, str(reason))
    if info is None or _get(info, "exists", True) is False:
        return QueueSnapshot(target.name, target.queue, target.redis_url, at_ms, exists=False)
    everything = _get(info, "groups") or ()
    watched = [g for g in everything if not target.groups or str(_get(g, "name")) in target.groups]
    # Groups in Redis outside the definition's list: named on the queue page, never hidden.
    unwatched = tuple(
        clean_name(str(_get(g, "name")))
        for g in everything
        if target.groups and str(_get(g, "name")) not in target.groups
    )[:MAX_UNWATCHED]
    groups = tuple(_group(g, active_idle_ms, caps) for g in watched[: caps.groups])
    return QueueSnapshot(
        name=target.name,
        queue=target.queue,
        redis_url=target.redis_url,
        at_ms=at_ms,
        length=int(_get(info, "length", 0) or 0),
        entries_added=_int_or_none(_get(info, "entries_added")),
        last_id=str(_get(info, "last_id", "") or ""),
        dead_letters=int(_get(info, "dead", 0) or 0),
        groups=groups,
        groups_omitted=max(0, len(watched) - caps.groups),
        unwatched_groups=unwatched,
        levels=tuple(int(level) for level in _get(info, "levels", ()) or ()),
    )


#: Polls between two re-reads of a queue that did not change (see ChangeWatch).
DEFAULT_REFRESH_CYCLES = 30
#: Of those re-reads, one in this many is a full read (``info_many``), the others come
#: from the check (its head).
FULL_READ_EVERY = 10


@dataclass
class _Seen:
    fingerprint: str
    snapshot: QueueSnapshot  # as read in full, or updated from a head
    read_ms: int  # Redis server time of that snapshot
    head: Head | None  # the check's head at that time (None: unknown, read in full)

    @functools.cached_property
    def unreadable(self) -> bool:
        """The queue or one of its groups could not be read: read it in full every poll."""
        snapshot = self.snapshot
        return bool(snapshot.unreadable) or any(g.unreadable for g in snapshot.groups)

    @functools.cached_property
    def ageless(self) -> bool:
        """Nothing in the snapshot ages while the queue is still: no oldest pending or
        undelivered entry, no inactive consumer (``aged`` then changes only its time)."""
        return all(
            g.oldest_pending_ms is None
            and g.oldest_undelivered_ms is None
            and all(c.active for c in g.consumer_list)
            for g in self.snapshot.groups
        )


@dataclass(frozen=True)
class WatchStats:
    """What the change check of the last poll found: queues checked, found changed (or
    never seen), refreshed because their turn came, and read in full (the union)."""

    checked: int = 0
    changed: int = 0
    refreshed: int = 0
    read: int = 0
    updated: int = 0  # changed, updated from the check's head without a full read


def turn_slot(name: str, period: int) -> int:
    """The poll (mod ``period``) that is ``name``'s turn: queues spread evenly over it."""
    return zlib.crc32(name.encode("utf-8", "surrogatepass")) % period


class ChangeWatch:
    """Change-driven polling: what earlier polls read, so a poll reads again only the
    queues whose fingerprint changed (``Manager.changes``: one Lua check per stream, in
    script calls of 200 streams; ``queues/lua/fingerprint.lua``).

    - **Still** (fingerprint unchanged): the last snapshot, aged to this poll. The ages of
      the oldest pending and oldest undelivered entries grow by the server time elapsed
      (they are the same entries, or the fingerprint would differ).
    - **Changed**: the check hands back the stream's *head* (length, ids, dead letters,
      every group's counters, first pending and first undelivered id, every consumer's
      pending count and idle time) and the snapshot is updated from it. A full read
      (``info_many``, ~15 commands) is left for what a head cannot update: a queue seen for
      the first time, groups created or deleted, duplicates counters changed, priority
      levels, a key that could not be read, and unreadable queues or groups (every poll).
    - **Refresh**: once every ``refresh_cycles`` polls, in a poll chosen by its name
      (staggered: 1 / refresh_cycles of the queues per poll, never all at once), a queue is
      checked as if never seen, so its head comes back and every figure is re-read; one
      refresh in ``FULL_READ_EVERY`` is a full read (``info_many``), so a snapshot is rebuilt
      from scratch at least every ``refresh_cycles × FULL_READ_EVERY`` polls.

    Idle times: the fingerprint holds each consumer's *active* bit (idle below the active
    threshold), computed by Redis at every check, so ``active`` and the active-consumer
    counts are exact at every poll. An inactive consumer's idle time grows by the elapsed
    time (any interaction would make it active: a change); an active consumer of a still
    queue keeps the idle time of its last read (below the threshold, at most
    ``refresh_cycles`` polls old). Redis 7.2's ``inactive`` field is not needed for this.
    On a Redis Cluster the check is not used and every queue is read in full.

    Library events: the same check looks at each library queue's events stream (one
    ``XREVRANGE COUNT 1``) and ``events`` (``EventMarks``) keeps which ones moved since their
    last ingestion, so the monitor reads the events of those queues only."""

    def __init__(self, refresh_cycles: int = DEFAULT_REFRESH_CYCLES) -> None:
        self.refresh_cycles = max(1, int(refresh_cycles))
        self.cycle = 0
        self.seen: dict[Target, _Seen] = {}
        self._params: tuple[int, Caps] | None = None
        self._found: dict[int, tuple[str, Head | None]] = {}
        self.still: set[str] = set()  # names of the queues found still by the last poll
        self.stats = WatchStats()
        self._next: dict[Target, _Seen] = {}
        self._stats = [0, 0, 0, 0, 0]
        self.events = EventMarks()
        self._refused: dict[str, str] = {}  # server -> why its check was last refused
        self._refused_now: set[str] = set()  # servers that refused a call of this poll

    def _note_refused(self, server: str, why: str) -> None:
        """A refused check (its queues are read in full): tried again every poll, since a
        refused call costs one command, but said once per server and reason; at a 1 s
        interval a line per poll buried the log, and a silent one hid that every queue of
        the server is read in full."""
        self._refused_now.add(server)
        if self._refused.get(server) != why:
            log.warning(
                "monitor: change check refused on %s, its queues are read in full until it "
                "is accepted: %s",
                redact_url(server),
                why,
            )
        self._refused[server] = why

    def begin(self) -> None:
        self.still = set()
        self.cycle += 1
        self._next = {}
        self._stats = [0, 0, 0, 0, 0]
        self.events.begin()

    def end(self) -> None:
        # Queues no longer polled (definitions removed or changed) are forgotten.
        self.seen = self._next
        self._next = {}
        self.stats = WatchStats(*self._stats)
        self.events.end()

    def _due(self, target: Target, every: int = 1) -> bool:
        """Whether ``target``'s turn for a refresh (every ``every`` refreshes: a full read)
        is this poll."""
        period = self.refresh_cycles * every
        return turn_slot(target.name, period) == self.cycle % period

    def read(
        self,
        manager: Any,
        targets: Sequence[Target],
        at_ms: int,
        active_idle_ms: int,
        caps: Caps,
        on_read: OnRead | None = None,
    ) -> list[QueueSnapshot]:
        """Snapshots of ``targets`` on one server: checked, then read in full where due.
        ``on_read`` is handed each queue's snapshot that the check settles (still, or
        updated from its head) as its script call's reply is worked through (see ``poll``)."""
        if self._params != (active_idle_ms, caps):
            self.seen = {}  # what was read under other settings is read again
            self._params = (active_idle_ms, caps)
        keys = targets
        previous = [self.seen.get(t) for t in targets]
        held = [p.fingerprint if p is not None else "" for p in previous]
        levels = [p.snapshot.levels if p is not None else () for p in previous]
        # A queue due for its refresh is asked with no fingerprint: the check re-reads all
        # its figures (pending lists, consumers, ages) and hands them back.
        due = [p is not None and self._due(t) for t, p in zip(targets, previous, strict=True)]
        ask = ["" if d else h for d, h in zip(due, held, strict=True)]
        events = ["" if t.stream else self.events.asked(t.redis_url, t.queue) for t in targets]
        parts = None
        server = targets[0].redis_url if targets else ""
        self._refused_now.discard(server)
        try:
            parts = manager.changes_by_batch(
                [t.info_target for t in targets], ask, levels, events=events
            )
            out, full = self._checked(
                parts, targets, previous, held, events, at_ms, active_idle_ms, caps, on_read
            )
            if server in self._refused and server not in self._refused_now:
                del self._refused[server]
                log.warning("monitor: change check accepted again on %s", redact_url(server))
        except redis.ResponseError as exc:  # e.g. an ACL refusing SCRIPT LOAD: read in full
            self._note_refused(server, str(exc))
            parts = None
        if parts is None:  # a cluster: everything in full, nothing kept
            self.still.difference_update(t.name for t in targets)
            infos = list(manager.info_many([t.info_target for t in targets]))
            self._stats[3] += len(targets)
            return [
                snapshot_from_info(t, info, at_ms, active_idle_ms, caps)
                for t, info in zip(targets, infos, strict=True)
            ]
        self._stats[0] += len(targets)
        self._stats[3] += len(full)
        infos = list(manager.info_many([targets[i].info_target for i in full])) if full else []
        for i, info in zip(full, infos, strict=True):
            snapshot = snapshot_from_info(targets[i], info, at_ms, active_idle_ms, caps)
            out[i] = snapshot
            read_ms = _get(info, "time_ms")
            fingerprint, head = self._found.get(i, (held[i], None))
            seen = previous[i]
            if i not in self._found and seen is not None:
                head = seen.head
            if fingerprint and read_ms is not None:
                self._next[keys[i]] = _Seen(fingerprint, snapshot, int(read_ms), head)
        self._found = {}
        return [s for s in out if s is not None]

    def _checked(
        self,
        parts: Any,
        targets: Sequence[Target],
        previous: Sequence[_Seen | None],
        held: Sequence[str],
        events: Sequence[str],
        at_ms: int,
        active_idle_ms: int,
        caps: Caps,
        on_read: OnRead | None = None,
    ) -> tuple[list[QueueSnapshot | None], list[int]]:
        """Work through the check one script call's reply at a time (while Redis checks the
        next): still queues aged, changed ones updated from their heads, what it saw of
        their events streams noted; returns the snapshots so far and the indices left to
        read in full."""
        out: list[QueueSnapshot | None] = [None] * len(targets)
        full: list[int] = []
        self._found = {}
        if parts is None:
            return out, full
        for part in parts:
            if part.refused:
                self._note_refused(targets[part.first].redis_url, part.refused)
            now_ms = part.time_ms
            for i in range(part.first, part.first + part.count):
                target = targets[i]
                if not target.stream:  # moved (or unreadable), else as held
                    last = part.events[i] if i in part.events else events[i]
                    self.events.saw(target.redis_url, target.queue, last)
                seen = previous[i]
                if seen is None:
                    self._stats[1] += 1
                    full.append(i)
                    if i in part.changed:
                        self._found[i] = (part.changed[i], part.heads.get(i))
                    continue
                if i not in part.changed:
                    if seen.unreadable or now_ms is None:
                        full.append(i)  # unreadable queues and groups: in full every poll
                        continue
                    elapsed = 0 if seen.ageless else max(0, now_ms - seen.read_ms)
                    snapshot = out[i] = aged(seen.snapshot, elapsed, at_ms)
                    self._next[targets[i]] = seen
                    self.still.add(target.name)
                    if on_read is not None and not target.stream:
                        on_read(snapshot, True)
                    continue
                fingerprint = part.changed[i]
                head = part.heads.get(i)
                changed = fingerprint != held[i]
                self._stats[1] += changed
                self._stats[2] += not changed
                updated = (
                    _updated(seen, head, now_ms, at_ms, active_idle_ms, caps)
                    if head
                    and now_ms is not None
                    and not seen.unreadable
                    and not self._due(targets[i], FULL_READ_EVERY)
                    else None
                )
                if updated is None:
                    full.append(i)
                    self._found[i] = (fingerprint, head)
                    continue
                out[i] = updated
                self._stats[4] += 1
                self._next[targets[i]] = _Seen(fingerprint, updated, now_ms or 0, head)
                if on_read is not None and not target.stream:
                    on_read(updated, False)
        return out, full


def _with(obj: Any, **changes: Any) -> Any:
    """A copy of a frozen (dict-backed) dataclass value with ``changes``: what
    ``dataclasses.replace`` does, without re-running ``__init__`` over every field (the
    monitor does it for tens of thousands of groups per poll)."""
    new = object.__new__(obj.__class__)
    fields = obj.__dict__.copy()
    fields.update(changes)
    object.__setattr__(new, "__dict__", fields)
    return new


def aged(snapshot: QueueSnapshot, elapsed_ms: int, at_ms: int) -> QueueSnapshot:
    """``snapshot`` of a queue that did not change, ``elapsed_ms`` later (see ChangeWatch)."""
    if not elapsed_ms:
        return _with(snapshot, at_ms=at_ms)  # type: ignore[no-any-return]
    return _with(  # type: ignore[no-any-return]
        snapshot, at_ms=at_ms, groups=tuple(_aged_group(g, elapsed_ms) for g in snapshot.groups)
    )


def _aged_group(group: GroupSnapshot, elapsed_ms: int, **changes: Any) -> GroupSnapshot:
    if group.oldest_pending_ms is not None:
        changes["oldest_pending_ms"] = group.oldest_pending_ms + elapsed_ms
    if "oldest_undelivered_ms" not in changes and group.oldest_undelivered_ms is not None:
        changes["oldest_undelivered_ms"] = group.oldest_undelivered_ms + elapsed_ms
    if any(not c.active for c in group.consumer_list):
        changes["consumer_list"] = tuple(
            c if c.active else ConsumerSnapshot(c.name, c.pending, c.idle_ms + elapsed_ms, False)
            for c in group.consumer_list
        )
    return _with(group, **changes) if changes else group  # type: ignore[no-any-return]


def _updated(
    seen: _Seen, head: Head, now_ms: int, at_ms: int, active_idle_ms: int, caps: Caps
) -> QueueSnapshot | None:
    """The last snapshot of a queue updated from the check's ``head``, when its groups are
    the same ones, its duplicates counters did not change and it has no priority levels.
    None: read it in full."""
    before = seen.head
    snapshot = seen.snapshot
    if (
        before is None
        or not snapshot.exists
        or snapshot.levels
        or head.levels
        or head.duplicates != before.duplicates
        or len(head.groups) != len(before.groups)
    ):
        return None
    by_name: dict[str, GroupHead] = {}
    for now, then in zip(head.groups, before.groups, strict=True):
        if now.name != then.name:
            return None
        by_name[_shown(now.name)] = now
    if len(by_name) != len(head.groups):
        return None  # two names that print alike: not worth telling apart here
    groups = []
    for group in snapshot.groups:
        found = by_name.get(group.name)
        if found is None:
            return None
        groups.append(_group_from_head(group, found, now_ms, active_idle_ms, caps))
    return _with(  # type: ignore[no-any-return]
        snapshot,
        at_ms=at_ms,
        length=head.length,
        entries_added=head.entries_added,
        last_id=head.last_id,
        dead_letters=snapshot.dead_letters if head.dead is None else head.dead,
        groups=tuple(groups),
    )


def _group_from_head(
    group: GroupSnapshot, head: GroupHead, now_ms: int, active_idle_ms: int, caps: Caps
) -> GroupSnapshot:
    """``group`` with what the check read of it (as queues.info's full read computes it)."""
    plain = group.parked is None  # a plain stream: __retry__ is a consumer like any other
    consumers = []
    parked = 0
    for c in head.consumer_list:
        name = _shown(c.name)
        if name == RETRY_CONSUMER and not plain:
            parked += c.pending
            continue
        consumers.append(ConsumerSnapshot(name, c.pending, c.idle_ms, c.idle_ms < active_idle_ms))
    return _with(  # type: ignore[no-any-return]
        group,
        consumers=len(consumers),
        active_consumers=sum(1 for c in consumers if c.active),
        pending=head.pending,
        parked=None if plain else parked,
        lag=head.lag,
        entries_read=head.entries_read,
        last_delivered_id=head.last_delivered_id,
        oldest_pending_ms=age_ms(head.first_pending_id, now_ms) if head.pending else None,
        oldest_undelivered_ms=age_ms(head.first_undelivered_id, now_ms),
        consumer_list=tuple(consumers[: caps.consumers]),
        consumers_omitted=max(0, len(consumers) - caps.consumers),
    )


def _shown(raw: Any) -> str:
    """A raw group or consumer name as snapshots show it (the same names recur each poll:
    short ones are remembered)."""
    if isinstance(raw, bytes) and len(raw) <= 200:
        return _shown_short(raw)
    return clean_name(text_of(raw))


@functools.lru_cache(maxsize=65_536)
def _shown_short(raw: bytes) -> str:
    return clean_name(text_of(raw))


def text_of(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def poll(
    targets: Sequence[Target],
    *,
    manager_for: Callable[[str], Any],
    active_idle_ms: int = 30_000,
    clock: Callable[[], float] = time.time,
    caps: Caps = Caps(),
    watch: ChangeWatch | None = None,
    on_read: OnRead | None = None,
) -> PollResult:
    """One poll of all targets, one pipelined batch per Redis server; never raises on an
    unreachable server (its queues come back with ``error`` set). With a ``watch`` (kept
    from poll to poll) only the queues that changed are read in full.

    ``on_read(snapshot, still)`` (with a ``watch``) is called with each library queue's
    snapshot as soon as the change check settles it: still (``still``: the last one with
    this poll's ages) or updated from its head. The monitor classifies it there, while
    Redis checks the next batch, instead of after the whole poll: the check of 10 000
    queues keeps Redis busy ~0.7 s, which the monitor's own work then overlaps (issue
    #20). A snapshot handed over may still be replaced (its server failing later in the
    poll): the caller uses what it made of it only if the poll returns that very object.
    The time spent in ``on_read`` is not counted in the poll's cost."""
    started = time.perf_counter()
    hook_s = 0.0
    if on_read is not None:
        given = on_read

        def timed(snapshot: QueueSnapshot, still: bool) -> None:
            nonlocal hook_s
            begun = time.perf_counter()
            given(snapshot, still)
            hook_s += time.perf_counter() - begun

        on_read = timed
    commands_before = commands_so_far()
    if watch is not None:
        watch.begin()
    by_url: dict[str, list[Target]] = defaultdict(list)
    for target in targets:
        by_url[target.redis_url].append(target)
    snapshots: list[QueueSnapshot] = []
    unreachable: dict[str, str] = {}
    errors = UNAVAILABLE_ERRORS
    for url, targets_of_url in by_url.items():
        at_ms = int(clock() * 1000)
        # A name the library refuses (braces, line breaks: a definition saved without
        # validation) would fail the whole server's batch: it costs only its own row.
        group = []
        for target in targets_of_url:
            problem = _name_problem(target)
            if problem:  # never read (exists=False): the monitor reads no events of it
                snapshots.append(
                    dataclasses.replace(_unreadable(target, at_ms, problem), exists=False)
                )
            else:
                group.append(target)
        names = [t.info_target for t in group]
        try:
            # inside the try: a cluster client connects (and can fail) when it is made
            manager = manager_for(url)
            if watch is not None and hasattr(manager, "changes_by_batch"):
                snapshots.extend(
                    watch.read(manager, group, at_ms, active_idle_ms, caps, on_read=on_read)
                )
                continue
            if hasattr(manager, "info_many"):
                infos = list(manager.info_many(names))
            else:
                infos = [_info_or_none(manager, n) for n in names]
        except errors as exc:
            unreachable[url] = f"{type(exc).__name__}: {exc}"
            snapshots.extend(
                QueueSnapshot(t.name, t.queue, url, at_ms, error=unreachable[url]) for t in group
            )
            continue
        except UNREADABLE_ERRORS as exc:
            # The server answers, but not in a way we can read: its queues are unreadable,
            # the other servers' queues are polled as usual.
            log.warning("monitor: replies from a Redis could not be read: %r", exc)
            reason = f"{type(exc).__name__}: {exc}"
            snapshots.extend(
                dataclasses.replace(_unreadable(t, at_ms, reason), exists=False) for t in group
            )
            continue
        snapshots.extend(
            snapshot_from_info(t, info, at_ms, active_idle_ms, caps)
            for t, info in zip(group, infos, strict=True)
        )
    plain = {t.name for t in targets if t.stream}
    if plain:
        snapshots = [as_plain(s) if s.name in plain else s for s in snapshots]
    if watch is not None:
        watch.end()
    stats = watch.stats if watch is not None else WatchStats(read=len(targets))
    cost = PollCost(
        commands=commands_so_far() - commands_before,
        ms=(time.perf_counter() - started - hook_s) * 1000,
        queues=len(targets),
        checked=stats.checked,
        changed=stats.changed,
        read=stats.read,
    )
    still = frozenset(watch.still) if watch is not None else frozenset()
    return PollResult(tuple(snapshots), cost, unreachable, still)


def _name_problem(target: Target) -> str:
    if target.stream:
        return ""
    try:
        validate_name(target.queue)
    except ValueError as exc:
        return str(exc)
    return ""


def as_plain(snapshot: QueueSnapshot) -> QueueSnapshot:
    """A plain stream's snapshot: what only StreamWarden queues have (dead letters,
    duplicates skipped) is None, shown as "n/a", never as a false 0."""
    return dataclasses.replace(
        snapshot,
        plain=True,
        dead_letters=None,
        groups=tuple(dataclasses.replace(g, duplicates=None) for g in snapshot.groups),
    )


def _info_or_none(manager: Any, name: str) -> Any:
    try:
        return manager.info(name)
    except LookupError:  # the library's QueueNotFound subclasses LookupError
        return None
