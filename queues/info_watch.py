"""Which streams changed since the caller last looked: one cheap check per stream.

A full read (``info_many``) costs about fifteen commands per queue and their decoding.
``changes`` asks Redis instead, through one Lua script (``queues/lua/fingerprint.lua``) run
on batches of streams, for a fingerprint of everything a full read shows but ages and idle
times (stream length, ids, entries added; each group's consumers, pending, last-delivered
id, entries read, lag; each consumer's name, pending count and whether it is active; a
queue's dead letters, delayed set, levels, duplicates counters and level streams), and
gets back only the server time and the fingerprints that differ from the ones held. The
caller reads in full only those (plus, now and then, the others: see the dashboard's
poller). Python decodes a few bytes per changed stream and nothing per still one.

Foreign data is hostile: every key is read with ``redis.pcall`` and every stream in its own
``pcall``, so a key of the wrong type or a reply of an unexpected shape costs only its own
stream (it comes back changed, with an empty fingerprint: read it in full, where its
problem is recorded on its row). A batch the server refuses (an ACL without EVALSHA, a
script killed) comes back as all changed, its neighbours unaffected.

Asked with the last events ids the caller holds (``events``), the check also tells which
queues' events streams (claimed, dead_lettered, ... written by the library) have a newer
last entry: one ``XREVRANGE COUNT 1`` per queue in the same script, and again only those
that moved come back. The events are not part of the fingerprint: a queue whose events
moved and nothing else stays still, and the other way round.

On Redis Cluster the keys of one script must share a slot; ``changes`` returns None there
and the caller reads everything in full (per-key commands, as before).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from queues import info as info_mod
from queues.connection import is_cluster
from queues.keys import MAX_PRIORITY, QueueKeys, queue_keys
from queues.readahead import take_connection
from queues.scripts import source

#: Streams per script call: each call blocks the server while it runs (about 10-30 µs a
#: stream), and its reply lists only the changed ones, so it stays small.
BATCH = 200
#: Script calls packed and sent per write by ``_send_all``.
SEND_CALLS = 4


@dataclass(frozen=True, slots=True)
class ConsumerHead:
    name: Any  # the raw name (bytes)
    pending: int
    idle_ms: int


@dataclass(frozen=True, slots=True)
class GroupHead:
    """One group of a changed stream as the check read it (see ``Head``)."""

    name: Any  # the raw name (bytes)
    consumers: int
    pending: int
    last_delivered_id: str
    entries_read: int | None
    lag: int | None
    first_pending_id: str  # "" when nothing is pending
    first_undelivered_id: str  # "" when nothing is undelivered
    consumer_list: tuple[ConsumerHead, ...]


@dataclass(frozen=True, slots=True)
class Head:
    """A changed stream as the check read it: enough to update the last full read of it
    when its groups are the same ones and its duplicates counters and levels did not change
    (entries added, read, acknowledged or claimed; consumers come, go or idle)."""

    length: int
    entries_added: int | None
    last_id: str
    dead: int | None  # None: a plain stream
    delayed: int | None
    duplicates: Any  # the duplicates counters as one text ("" when none)
    levels: Any  # the levels set as one text ("" when none)
    groups: tuple[GroupHead, ...]


@dataclass(frozen=True)
class Changes:
    """What ``changes`` found: the server time and, by index into the targets asked, the
    new fingerprint of each target whose fingerprint differs from the one held ("" when it
    could not be taken: read that one in full every time) and its head (None when a key
    could not be read)."""

    time_ms: int | None
    changed: dict[int, str] = field(default_factory=dict)
    commands: int = 0  # script calls sent (one per batch)
    heads: dict[int, Head | None] = field(default_factory=dict)
    first: int = 0  # the targets this covers: first .. first + count - 1
    count: int = 0
    #: When asked (``events``): the queues whose events stream's last entry id differs from
    #: the one held, with that id ("" for an empty or missing stream; None when it could
    #: not be read, or the whole batch was refused: every target of it is here).
    events: dict[int, str | None] = field(default_factory=dict)
    #: Why the server refused this batch's call (NOPERM, BUSY, a killed script, a reply of
    #: another shape); "" when it was answered.
    refused: str = ""


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def read_head(reply: Any) -> Head | None:
    """The head of one stream from its script reply; None when broken or not decodable."""
    if not isinstance(reply, list) or len(reply) < 7:
        return None
    try:
        groups = tuple(
            GroupHead(
                g[0],
                int(g[1]),
                int(g[2]),
                _text(g[3]),
                _int_or_none(g[4]),
                _int_or_none(g[5]),
                _text(g[6]),
                _text(g[7]),
                tuple(
                    ConsumerHead(g[8][k], int(g[8][k + 1]), int(g[8][k + 2]))
                    for k in range(0, len(g[8]) - 2, 3)
                ),
            )
            for g in reply[7:]
        )
        return Head(
            int(reply[0]),
            _int_or_none(reply[1]),
            _text(reply[2]),
            _int_or_none(reply[3]),
            _int_or_none(reply[4]),
            reply[5],
            reply[6],
            groups,
        )
    except (TypeError, ValueError, IndexError):
        return None


def _keys_of(target: info_mod.Target, levels: Sequence[int]) -> tuple[str, list[Any]]:
    if isinstance(target, info_mod.PlainKeys):
        return "p", [target.stream]
    keys: QueueKeys = target
    out: list[Any] = [
        keys.stream,
        keys.dead,
        keys.delayed,
        keys.levels,
        keys.duplicates,
        keys.events,
    ]
    for level in levels:
        level_keys = queue_keys(keys.name, level)
        out += [level_keys.stream, level_keys.delayed]
    return "q", out


def _valid_levels(levels: Sequence[int]) -> list[int]:
    return [level for level in levels if isinstance(level, int) and 0 < level <= MAX_PRIORITY]


def changes(
    client: Any,
    targets: Sequence[info_mod.Target],
    held: Sequence[str],
    levels: Sequence[Sequence[int]] | None = None,
    *,
    active_idle_ms: int = info_mod.DEFAULT_ACTIVE_IDLE_MS,
    batch: int = BATCH,
    events: Sequence[str] | None = None,
) -> Changes | None:
    """Which of ``targets`` changed since their fingerprints ``held`` ("" = never seen) were
    taken; ``levels`` are the priority levels each queue had then (their streams are part of
    its fingerprint; a change of the levels set shows as a change). With ``events`` (the
    last events id held per target, "" = none), also which queues' events moved
    (``Changes.events``). None on a cluster.

    One pipelined round trip of ``len(targets) / batch`` script calls (a second one after
    the server lost its script cache). Raises only what the client raises for an
    unreachable server."""
    parts = changes_by_batch(
        client, targets, held, levels, active_idle_ms=active_idle_ms, batch=batch, events=events
    )
    return None if parts is None else merged(parts)


def merged(parts: Iterator[Changes]) -> Changes:
    """One ``Changes`` of all the batches of ``changes_by_batch``."""
    time_ms = None
    changed: dict[int, str] = {}
    heads: dict[int, Head | None] = {}
    events: dict[int, str | None] = {}
    commands = count = 0
    for part in parts:
        time_ms = time_ms if time_ms is not None else part.time_ms
        changed.update(part.changed)
        heads.update(part.heads)
        events.update(part.events)
        commands += part.commands
        count += part.count
    return Changes(time_ms, changed, commands, heads, 0, count, events)


def changes_by_batch(
    client: Any,
    targets: Sequence[info_mod.Target],
    held: Sequence[str],
    levels: Sequence[Sequence[int]] | None = None,
    *,
    active_idle_ms: int = info_mod.DEFAULT_ACTIVE_IDLE_MS,
    batch: int = BATCH,
    events: Sequence[str] | None = None,
) -> Iterator[Changes] | None:
    """``changes``, one ``Changes`` per script call as its reply arrives (indices into all
    of ``targets``), so the caller works on one batch while Redis checks the next. Every
    call is sent at once, on one connection; the iterator must be run to its end (a
    connection left with unread replies is closed). None on a cluster."""
    if is_cluster(client):
        return None
    text, calls = plan_calls(
        targets, held, levels, active_idle_ms=active_idle_ms, batch=batch, events=events
    )
    return _run(client, text, calls)


Call = tuple[int, int, list[Any]]  # first target, how many, the EVALSHA command


def plan_calls(
    targets: Sequence[info_mod.Target],
    held: Sequence[str],
    levels: Sequence[Sequence[int]] | None,
    *,
    active_idle_ms: int,
    batch: int,
    events: Sequence[str] | None = None,
) -> tuple[str, list[Call]]:
    """The script's text and its calls for ``targets`` (no I/O: both twins send these)."""
    text = source("fingerprint")
    sha = hashlib.sha1(text.encode()).hexdigest()
    calls: list[Call] = []
    for start in range(0, len(targets), batch):
        keys: list[Any] = []
        args: list[Any] = []
        chunk = range(start, min(start + batch, len(targets)))
        for i in chunk:
            own = _valid_levels(levels[i]) if levels is not None else []
            kind, target_keys = _keys_of(targets[i], own)
            keys += target_keys
            args += [kind, len(own), held[i], events[i] if events is not None else ""]
        look = "1" if events is not None else "0"
        calls.append(
            (
                start,
                len(chunk),
                ["EVALSHA", sha, len(keys), *keys, active_idle_ms, len(chunk), look, *args],
            )
        )
    return text, calls


def read_batch(call: Call, reply: Any, commands: int) -> Changes:
    """The ``Changes`` of one call from its reply (an error reply as its exception)."""
    start, size, _ = call
    return _batch(start, size, reply, commands)


def _send_all(client: Any, calls: Sequence[tuple[int, int, list[Any]]]) -> Iterator[Any]:
    """The replies of ``calls`` sent in one write, each as it is read (an error reply as
    its exception)."""
    pool = client.connection_pool
    conn = take_connection(pool)
    done = False
    try:
        # A few calls per write: Redis runs the first while the rest are packed (packing
        # 10 000 queues' keys takes a tenth of a second).
        for start in range(0, len(calls), SEND_CALLS):
            chunk = calls[start : start + SEND_CALLS]
            conn.send_packed_command(conn.pack_commands([command for _, _, command in chunk]))
        for _ in calls:
            try:
                yield client.parse_response(conn, "EVALSHA")
            except redis.ResponseError as exc:
                yield exc
        done = True
    finally:
        if not done:
            conn.disconnect()
        pool.release(conn)


def _run(client: Any, text: str, calls: Sequence[tuple[int, int, list[Any]]]) -> Iterator[Changes]:
    if not calls:
        return
    replies = _send_all(client, calls)
    first = next(replies)
    sent = len(calls)
    if isinstance(first, redis.exceptions.NoScriptError):
        for _ in replies:  # the server lost its scripts: drain, load, send again
            pass
        client.script_load(text)
        replies = _send_all(client, calls)
        first = next(replies)
        sent += len(calls) + 1
    for n, (start, size, _) in enumerate(calls):
        reply = first if n == 0 else next(replies)
        yield _batch(start, size, reply, sent if n == 0 else 0)


def _batch(start: int, size: int, reply: Any, commands: int) -> Changes:
    if (
        isinstance(reply, Exception)
        or not isinstance(reply, list)
        or len(reply) < 4
        or not isinstance(reply[2], list)
        or not isinstance(reply[3], list)
    ):
        # refused (BUSY, NOPERM, a killed script): this batch is read in full, its events too
        every = range(start, start + size)
        why = str(reply) if isinstance(reply, Exception) else "a reply of an unexpected shape"
        return Changes(
            None, dict.fromkeys(every, ""), commands, {}, start, size, dict.fromkeys(every), why
        )
    changed: dict[int, str] = {}
    heads: dict[int, Head | None] = {}
    found = reply[2]
    for k in range(0, len(found) - 2, 3):
        index = int(found[k]) - 1
        if 0 <= index < size:
            changed[start + index] = _text(found[k + 1])
            heads[start + index] = read_head(found[k + 2])
    events: dict[int, str | None] = {}
    moved = reply[3]
    for k in range(0, len(moved) - 1, 2):
        index = int(moved[k]) - 1
        if 0 <= index < size:
            events[start + index] = None if moved[k + 1] is None else _text(moved[k + 1])
    return Changes(info_mod.time_ms(reply[:2]), changed, commands, heads, start, size, events)
