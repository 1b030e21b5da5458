"""Redis key names of a queue; every key of queue Q carries the hash tag {Q} (cluster-safe)."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "sw"
#: Set of known queue names (single-key operations only: it is in no queue's hash slot).
REGISTRY = f"{PREFIX}:queues"
#: Consumer name that owns entries parked for a retry; never a real consumer.
RETRY_CONSUMER = "__retry__"


@dataclass(frozen=True, slots=True)
class QueueKeys:
    """The keys of one queue: stream, delayed set, dead-letter stream and events stream."""

    name: str
    stream: str
    delayed: str
    dead: str
    events: str
    level: int = 0

    @property
    def prefix(self) -> str:
        """What every key of the queue starts with; no other queue's key does (names may not
        hold braces, so the hash tag ends where the name does)."""
        return f"{PREFIX}:{{{self.name}}}:"

    @property
    def pattern(self) -> str:
        """SCAN pattern matching every key of the queue (and no other queue's)."""
        return glob_escape(self.prefix) + "*"

    def dedup(self, key: str) -> str:
        """Key of the de-duplication marker for ``key`` (shares the queue's hash slot)."""
        return f"{PREFIX}:{{{self.name}}}:dedup:{key}"

    @property
    def dedup_pattern(self) -> str:
        """SCAN pattern matching every de-duplication marker of the queue (and no other's)."""
        return glob_escape(self.dedup("")) + "*"

    def reply(self, producer_id: str) -> str:
        """Reply stream of one producer: completions of the messages it asked about."""
        return f"{PREFIX}:{{{self.name}}}:reply:{producer_id}"

    def level_streams(self) -> list[str]:
        """Streams of the priority levels 1..MAX_PRIORITY (level 0 is ``stream``)."""
        return [queue_keys(self.name, level).stream for level in range(1, MAX_PRIORITY + 1)]

    @property
    def reply_pattern(self) -> str:
        """SCAN pattern matching every reply stream of the queue (and no other queue's)."""
        return glob_escape(self.reply("")) + "*"

    def producer_alive(self, producer_id: str) -> str:
        """Heartbeat key of a producer with a reply stream (expires when it dies)."""
        return f"{PREFIX}:{{{self.name}}}:producer:{producer_id}"

    @property
    def levels(self) -> str:
        """Set of the priority levels above 0 the queue has had messages published at."""
        return f"{PREFIX}:{{{self.name}}}:levels"

    @property
    def duplicates(self) -> str:
        """Hash of group -> deliveries skipped because the message was already processed (or
        being processed by another consumer); shared by the queue's priority levels."""
        return f"{PREFIX}:{{{self.name}}}:duplicates"

    def processing(self, group: str, entry_id: str) -> str:
        """Processing token of one entry of this stream in one group (``guard=True``),
        expiring; under the stream's own name, since each priority level numbers its own."""
        return f"{self.stream}:processing:{group}:{entry_id}"

    def ordered_lock(self, group: str) -> str:
        """Key of the lock naming the active consumer of an ordered group."""
        return f"{PREFIX}:{{{self.name}}}:ordered:{group}"


def glob_escape(text: str) -> str:
    """``text`` as a literal in a Redis glob (SCAN MATCH, KEYS): queue names may contain
    ``* ? [ ] \\``, which would otherwise match other queues' keys."""
    return "".join("\\" + ch if ch in "*?[]\\^" else ch for ch in text)


def validate_name(name: str, what: str = "queue name") -> str:
    """Return ``name`` if it can be used in key names and replies, else raise ValueError."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} must be a non-empty string, got {name!r}")
    if any(ch in name for ch in "{}\r\n\0") or name != name.strip():
        raise ValueError(
            f"{what} {name!r} may not contain braces, line breaks, NUL or outer whitespace"
        )
    return name


#: Priority levels a queue may have: 0 (the main stream, the default) to MAX_PRIORITY.
MAX_PRIORITY = 9


def stored_keys(name: str) -> list[str]:
    """The fixed keys that hold queue ``name``'s data, priority levels included."""
    keys = queue_keys(name)
    levels = [queue_keys(name, level) for level in range(1, MAX_PRIORITY + 1)]
    return [
        keys.stream,
        keys.delayed,
        keys.dead,
        keys.events,
        keys.levels,
        keys.duplicates,
        *(k.stream for k in levels),
        *(k.delayed for k in levels),
    ]


def queue_keys(name: str, level: int = 0) -> QueueKeys:
    """All keys of queue ``name``; for a priority ``level`` above 0, its own stream and
    delayed set (``sw:{Q}:stream:p<level>``), sharing the dead letters and events."""
    validate_name(name)
    if not isinstance(level, int) or not 0 <= level <= MAX_PRIORITY:
        raise ValueError(f"priority level must be an integer 0..{MAX_PRIORITY}, got {level!r}")
    tag = f"{PREFIX}:{{{name}}}"
    suffix = f":p{level}" if level else ""
    return QueueKeys(
        name=name,
        stream=f"{tag}:stream{suffix}",
        delayed=f"{tag}:delayed{suffix}",
        dead=f"{tag}:dead",
        events=f"{tag}:events",
        level=level,
    )
