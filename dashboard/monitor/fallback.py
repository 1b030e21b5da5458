"""TEMPORARY stand-in for ``queues.Manager`` while the library is being written.

TODO(dashboard): delete this module once ``queues.Manager`` (with ``info_many``) has landed;
see the Requests section of notes/django-contract.md. It implements only the subset of the
SPEC's public Manager API the dashboard calls, on the key layout of notes/library-design.md
(sw:{Q}:stream, sw:{Q}:dead, registry sw:queues), and is used only when ``queues.Manager``
cannot be imported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import redis

REGISTRY = "sw:queues"


def stream_key(queue: str) -> str:
    return f"sw:{{{queue}}}:stream"


def dead_key(queue: str) -> str:
    return f"sw:{{{queue}}}:dead"


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def id_ms(entry_id: str | bytes | None) -> int | None:
    if not entry_id:
        return None
    head = _s(entry_id).split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _pairs(reply: Any) -> dict[str, Any]:
    if isinstance(reply, dict):
        return {_s(k): v for k, v in reply.items()}
    return {_s(reply[i]): reply[i + 1] for i in range(0, len(reply), 2)}


@dataclass(frozen=True)
class ConsumerInfo:
    name: str
    pending: int
    idle_ms: int


@dataclass(frozen=True)
class GroupInfo:
    name: str
    consumers: int
    active_consumers: int
    pending: int
    lag: int | None
    oldest_pending_ms: int | None
    entries_read: int | None = None
    last_delivered_id: str = "0-0"
    oldest_undelivered_ms: int | None = None
    consumer_list: tuple[ConsumerInfo, ...] = ()


@dataclass(frozen=True)
class QueueInfo:
    name: str
    length: int
    groups: list[GroupInfo] = field(default_factory=list)
    dead: int = 0
    entries_added: int | None = None
    last_id: str = "0-0"


@dataclass(frozen=True)
class PendingEntry:
    id: str
    consumer: str
    idle_ms: int
    deliveries: int


@dataclass(frozen=True)
class DeadLetter:
    id: str
    fields: dict[str, str]


class FallbackManager:
    """The subset of the library Manager the dashboard needs (see module docstring)."""

    def __init__(self, redis: redis.Redis, *, active_idle_ms: int = 30_000) -> None:
        self.redis: Any = redis
        self.active_idle_ms = active_idle_ms

    def queues(self) -> list[str]:
        names = {_s(n) for n in self.redis.smembers(REGISTRY)}
        for key in self.redis.scan_iter(match="sw:{*}:stream", count=1000):
            key_s = _s(key)
            names.add(key_s[len("sw:{") : -len("}:stream")])
        return sorted(names)

    def info(self, name: str) -> QueueInfo | None:
        return self.info_many([name])[0]

    def info_many(self, names: list[str]) -> list[QueueInfo | None]:
        """All queues in two pipelined round trips (plus one for undelivered ages)."""
        now = int(time.time() * 1000)
        pipe = self.redis.pipeline(transaction=False)
        for name in names:
            pipe.execute_command("XINFO", "STREAM", stream_key(name))
            pipe.execute_command("XINFO", "GROUPS", stream_key(name))
            pipe.xlen(dead_key(name))
        first = pipe.execute(raise_on_error=False)
        stage: list[tuple[str, dict[str, Any], list[dict[str, Any]], int] | None] = []
        pipe = self.redis.pipeline(transaction=False)
        for i, name in enumerate(names):
            stream, groups, dead = first[3 * i : 3 * i + 3]
            if isinstance(stream, Exception):
                if "no such key" in str(stream).lower():
                    stage.append(None)
                    continue
                raise stream
            group_dicts = [_pairs(g) for g in groups]
            stage.append((name, _pairs(stream), group_dicts, int(dead or 0)))
            for group in group_dicts:
                gname = _s(group["name"])
                pipe.execute_command("XINFO", "CONSUMERS", stream_key(name), gname)
                pipe.execute_command("XPENDING", stream_key(name), gname)
                lag = group.get("lag")
                if lag is None or int(lag) > 0:
                    last = _s(group.get("last-delivered-id", "0-0"))
                    pipe.xrange(stream_key(name), min=f"({last}", max="+", count=1)
        second = iter(pipe.execute(raise_on_error=False)) if len(pipe) else iter(())
        result: list[QueueInfo | None] = []
        for item in stage:
            if item is None:
                result.append(None)
                continue
            name, stream, group_dicts, dead = item
            groups_out: list[GroupInfo] = []
            for group in group_dicts:
                consumers_raw = next(second)
                pending_raw = next(second)
                lag = group.get("lag")
                undelivered = None
                if lag is None or int(lag) > 0:
                    rng = next(second)
                    if rng and not isinstance(rng, Exception):
                        first_ms = id_ms(rng[0][0])
                        undelivered = now - first_ms if first_ms is not None else None
                consumers = []
                if not isinstance(consumers_raw, Exception):
                    for c in consumers_raw:
                        cd = _pairs(c)
                        consumers.append(
                            ConsumerInfo(_s(cd["name"]), int(cd["pending"]), int(cd["idle"]))
                        )
                oldest = None
                if isinstance(pending_raw, dict):
                    min_id = pending_raw.get("min")
                elif isinstance(pending_raw, list | tuple) and len(pending_raw) > 1:
                    min_id = pending_raw[1]
                else:
                    min_id = None
                if min_id:
                    min_ms = id_ms(min_id)
                    oldest = now - min_ms if min_ms is not None else None
                entries_read = group.get("entries-read")
                groups_out.append(
                    GroupInfo(
                        name=_s(group["name"]),
                        consumers=int(group["consumers"]),
                        active_consumers=sum(
                            1 for c in consumers if c.idle_ms < self.active_idle_ms
                        ),
                        pending=int(group["pending"]),
                        lag=None if lag is None else int(lag),
                        oldest_pending_ms=oldest,
                        entries_read=None if entries_read is None else int(entries_read),
                        last_delivered_id=_s(group.get("last-delivered-id", "0-0")),
                        oldest_undelivered_ms=undelivered,
                        consumer_list=tuple(consumers),
                    )
                )
            added = stream.get("entries-added")
            result.append(
                QueueInfo(
                    name=name,
                    length=int(stream["length"]),
                    groups=groups_out,
                    dead=dead,
                    entries_added=None if added is None else int(added),
                    last_id=_s(stream.get("last-generated-id", "0-0")),
                )
            )
        return result

    def pending(self, name: str, group: str, count: int = 100) -> list[PendingEntry]:
        rows = self.redis.xpending_range(stream_key(name), group, min="-", max="+", count=count)
        return [
            PendingEntry(
                _s(r["message_id"]),
                _s(r["consumer"]),
                int(r["time_since_delivered"]),
                int(r["times_delivered"]),
            )
            for r in rows
        ]

    def dead_letters(self, name: str, count: int = 100) -> list[DeadLetter]:
        rows = self.redis.xrevrange(dead_key(name), count=count)
        return [DeadLetter(_s(i), {_s(k): _s(v) for k, v in f.items()}) for i, f in rows]

    def replay_dead_letters(self, name: str, ids: list[str] | None = None) -> int:
        rows = self.redis.xrange(dead_key(name)) if ids is None else []
        if ids is not None:
            for entry_id in ids:
                rows.extend(self.redis.xrange(dead_key(name), entry_id, entry_id))
        moved = 0
        for entry_id, fields in rows:
            keep = {k: v for k, v in fields.items() if _s(k) in {"payload", "ctype", "headers"}}
            if _s(fields.get(b"group", b"")):
                keep[b"only_group"] = fields[b"group"]
            pipe = self.redis.pipeline(transaction=True)
            pipe.xadd(stream_key(name), keep)
            pipe.xdel(dead_key(name), entry_id)
            pipe.execute()
            moved += 1
        return moved

    def delete_dead_letters(self, name: str, ids: list[str] | None = None) -> int:
        if ids is None:
            count = int(self.redis.xlen(dead_key(name)))
            self.redis.delete(dead_key(name))
            return count
        return int(self.redis.xdel(dead_key(name), *ids)) if ids else 0

    def create_group(self, name: str, group: str, start: str = "$") -> None:
        self.redis.xgroup_create(stream_key(name), group, id=start, mkstream=True)

    def delete_group(self, name: str, group: str) -> None:
        self.redis.xgroup_destroy(stream_key(name), group)

    def set_group_id(self, name: str, group: str, entry_id: str) -> None:
        self.redis.xgroup_setid(stream_key(name), group, entry_id)

    def delete_consumer(self, name: str, group: str, consumer: str) -> int:
        return int(self.redis.xgroup_delconsumer(stream_key(name), group, consumer))

    def trim(self, name: str, *, maxlen: int) -> int:
        return int(self.redis.xtrim(stream_key(name), maxlen=maxlen, approximate=False))

    def purge(self, name: str) -> int:
        """Empty the stream but keep its groups (XTRIM MAXLEN 0)."""
        return int(self.redis.xtrim(stream_key(name), maxlen=0, approximate=False))
