"""Poll every watched queue through the library Manager; return typed snapshots and the cost.

Pure with respect to Django: it takes plain targets and returns values, so the benchmark
and the tests call it directly.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from dashboard.monitor.counting import commands_so_far
from dashboard.monitor.names import clean_name
from dashboard.monitor.types import (
    ConsumerSnapshot,
    GroupSnapshot,
    PollCost,
    PollResult,
    QueueSnapshot,
)
from queues.exceptions import QueueUnavailable
from queues.info import DECODE_ERRORS, MAX_REASON
from queues.keys import validate_name
from queues.types import PlainStream

log = logging.getLogger(__name__)

#: What makes one queue's (or one server's) replies unreadable without the server being
#: down: an error reply, or a reply of a shape the decoding did not expect.
UNREADABLE_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, *DECODE_ERRORS)


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


def poll(
    targets: Sequence[Target],
    *,
    manager_for: Callable[[str], Any],
    active_idle_ms: int = 30_000,
    clock: Callable[[], float] = time.time,
    caps: Caps = Caps(),
) -> PollResult:
    """One poll of all targets, one pipelined batch per Redis server; never raises on an
    unreachable server (its queues come back with ``error`` set)."""
    started = time.perf_counter()
    commands_before = commands_so_far()
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
    cost = PollCost(
        commands=commands_so_far() - commands_before,
        ms=(time.perf_counter() - started) * 1000,
        queues=len(targets),
    )
    return PollResult(tuple(snapshots), cost, unreachable)


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
