"""The library's exception hierarchy: one base class, each error also a fitting built-in type."""

from __future__ import annotations


class StreamWardenError(Exception):
    """Base class of every error the queues library raises on purpose."""


class ConfigurationError(StreamWardenError, ValueError):
    """A Producer, Consumer or Manager was given an unusable setting (bad URL, bad option)."""


class QueueUnavailable(StreamWardenError, ConnectionError):
    """Redis could not be reached within the bounded time; the operation did not happen."""

    def __init__(self, address: str, detail: str = "") -> None:
        self.address = address
        message = f"Redis at {address} is unavailable"
        super().__init__(f"{message}: {detail}" if detail else message)


class BufferFull(QueueUnavailable):
    """Redis is unavailable and the producer's in-memory buffer is full: not published."""

    def __init__(self, address: str, size: int) -> None:
        self.size = size
        super().__init__(
            address,
            f"the producer's buffer is full ({size} messages waiting); not published",
        )


class UnflushedMessages(QueueUnavailable):
    """Producer.close() could not flush its buffer: ``count`` messages never reached Redis."""

    def __init__(self, address: str, count: int, last_error: BaseException | None = None) -> None:
        self.count = count
        #: Why the last flush attempt failed (unavailable, or Redis refusing writes).
        self.last_error = last_error
        why = f"; last error: {type(last_error).__name__}: {last_error}" if last_error else ""
        super().__init__(
            address, f"{count} buffered messages were never published (close() gave up){why}"
        )


class SerializationError(StreamWardenError, ValueError):
    """A payload could not be serialised for publishing."""


class UndecodableEntry(StreamWardenError, ValueError):
    """A stream entry has no payload the consumer can decode; it goes to the dead-letter stream."""


class AlreadyProcessed(StreamWardenError):
    """Raised by a handler (wrapper) whose message's effect is already recorded: the consumer
    acknowledges it without a retry and counts a duplicate delivery for its group."""


class QueueNotFound(StreamWardenError, LookupError):
    """The queue is neither registered nor has a stream in Redis."""


class StreamNotFound(QueueNotFound):
    """No key of that name exists in Redis (a plain stream looked up by its key)."""


class NotAStream(StreamWardenError, TypeError):
    """The key exists but holds another Redis type than a stream (WRONGTYPE)."""


class GroupNotFound(StreamWardenError, LookupError):
    """The consumer group does not exist on the queue's stream."""


class GroupExists(StreamWardenError, ValueError):
    """A consumer group of that name already exists on the stream."""


class OrderedConsumerActive(StreamWardenError, RuntimeError):
    """Another consumer is active on an ordered group and this one was told to exit."""

    def __init__(self, queue: str, group: str, holder: str) -> None:
        self.queue, self.group, self.holder = queue, group, holder
        super().__init__(
            f"consumer {holder!r} is the active consumer of ordered group {group!r} of queue "
            f"{queue!r}; only one may run at a time (on_active='wait' waits for it instead)"
        )


class GroupLost(StreamWardenError, RuntimeError):
    """The consumer group was deleted under a running consumer (on_group_lost="stop")."""

    def __init__(self, queue: str, group: str) -> None:
        self.queue, self.group = queue, group
        super().__init__(
            f"consumer group {group!r} of queue {queue!r} was deleted (XGROUP DESTROY, or a "
            "Redis restart that lost its data) while this consumer ran; on_group_lost='stop' "
            "stops here: re-create the group where it should start (Manager.create_group) "
            "and restart the consumers"
        )


class ConsumerBusy(StreamWardenError, RuntimeError):
    """The consumer still owns pending entries; deleting it would drop them (use force=True)."""

    def __init__(self, consumer: str, pending: int) -> None:
        self.consumer = consumer
        self.pending = pending
        super().__init__(
            f"consumer {consumer!r} still has {pending} pending entries; deleting it would "
            "drop them from the group (claim or ack them first, or pass force=True)"
        )


class TrimRefused(StreamWardenError, ValueError):
    """Trimming was refused because it could remove entries a consumer group still needs."""


class ReplayRefused(StreamWardenError, LookupError):
    """Dead letters were left in place: no group of their name reads the stream they came
    from, so a replay would be skipped by every group (the others were replayed)."""

    def __init__(self, queue: str, replayed: int, refused: dict[str, list[str]]) -> None:
        self.queue = queue
        self.replayed = replayed
        #: group name -> ids of its dead letters left in the dead-letter stream
        self.refused = refused
        count = sum(len(ids) for ids in refused.values())
        groups = ", ".join(repr(g) for g in sorted(refused))
        super().__init__(
            f"{count} dead letter(s) of queue {queue!r} were not replayed (left in place, "
            f"{replayed} others were): no group {groups} reads the stream they failed on — "
            "the group was deleted, or its consumers read another priority level. Create the "
            "group, or delete those dead letters"
        )


class NotDurable(StreamWardenError, RuntimeError):
    """A durable publish reached the master but too few replicas confirmed it in time."""

    def __init__(self, ids: list[str], acked: int, wanted: int, timeout_ms: int) -> None:
        self.ids = ids
        self.acked = acked
        self.wanted = wanted
        super().__init__(
            f"{len(ids)} message(s) are on the master but only {acked} of {wanted} replicas "
            f"confirmed them within {timeout_ms} ms; a failover now could lose them "
            "(publish again with the same dedup_key to be sure): " + ", ".join(ids[:5])
        )
