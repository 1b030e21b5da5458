"""What a Producer decides without I/O, shared by queues.Producer and queues.aio.Producer:
the argument checks, the buffer's chunking, the reading of a flush's replies, and which
refusals mean the master was demoted."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import redis

from queues import entries
from queues import trim as trim_mod
from queues.entries import text
from queues.exceptions import NotDurable, QueueUnavailable

#: Plain publishes sent per pipeline (publish_many, and a buffer flush).
PIPELINE_CHUNK = 1_000

#: Prefix of the id publish() returns for a message held in the buffer (not yet in Redis).
BUFFERED_PREFIX = "buffered:"

log = logging.getLogger("queues.producer")


class Pending:
    """A publish held in the buffer while Redis is unavailable."""

    __slots__ = ("fields", "due", "dedup_key")

    def __init__(self, fields: entries.Fields, due: int | None, dedup_key: str | None) -> None:
        self.fields, self.due, self.dedup_key = fields, due, dedup_key


def check_args(
    *,
    on_unavailable: str,
    buffer_size: int,
    dedup_window: float,
    maxlen: int | None,
    durable: bool,
    durable_replicas: int,
    durable_timeout: float,
) -> None:
    """The argument checks of Producer and queues.aio.Producer: ValueError naming the bad one."""
    if on_unavailable not in ("raise", "buffer"):
        raise ValueError(f"on_unavailable must be 'raise' or 'buffer', got {on_unavailable!r}")
    if not isinstance(buffer_size, int) or buffer_size < 1:
        raise ValueError(f"buffer_size must be an integer >= 1, got {buffer_size!r}")
    if int(dedup_window * 1000) <= 0:
        raise ValueError("dedup_window must be positive")
    trim_mod.args(True, maxlen)  # validate now rather than on the thousandth publish
    if durable and (durable_replicas < 1 or int(durable_timeout * 1000) < 1):
        raise ValueError("durable publish needs durable_replicas >= 1 and a timeout")


def next_chunk(buffer: Iterable[Pending]) -> list[Pending]:
    """The head of a publish buffer to send next: a run of plain publishes (pipelined,
    at most PIPELINE_CHUNK) or one delayed or de-duplicated publish."""
    chunk: list[Pending] = []
    for item in buffer:
        plain = item.due is None and item.dedup_key is None
        if chunk and (not plain or len(chunk) >= PIPELINE_CHUNK):
            break
        chunk.append(item)
        if not plain:
            break
    return chunk


def chunk_replies(replies: list[Any], atomic: bool, size: int) -> list[Any]:
    """The reply of each XADD of a flushed chunk (an id or the error Redis answered), from
    the pipeline's replies; ``atomic``: the XADDs were inside MULTI/EXEC."""
    if not atomic:
        return replies
    executed = replies[-1]
    if isinstance(executed, Exception):  # EXECABORT: nothing ran; say why
        first = next((r for r in replies[:-1] if isinstance(r, Exception)), executed)
        return [first] * size
    return list(executed)


def flush_outcome(
    replies: list[Any], acked: Any, replicas: int, timeout_ms: int
) -> tuple[list[bool], list[str], BaseException | None]:
    """Which messages of a flushed chunk landed, their ids, and the first error (Redis's
    refusal, WAIT's error, or NotDurable when too few replicas confirmed)."""
    landed = [not isinstance(reply, Exception) for reply in replies]
    ids = [text(reply) for reply in replies if not isinstance(reply, Exception)]
    error = next((reply for reply in replies if isinstance(reply, Exception)), None)
    if error is None and isinstance(acked, Exception):
        error = acked
    elif error is None and acked is not None and int(acked) < replicas:
        error = NotDurable(ids, int(acked), replicas, timeout_ms)
    return landed, ids, error


def report_flush_error(
    queue: str, previous: BaseException | None, error: BaseException | None
) -> None:
    """Log why a buffer flush failed, once per distinct error."""
    if error is None or (
        previous is not None and (type(previous), str(previous)) == (type(error), str(error))
    ):
        return
    if isinstance(error, QueueUnavailable):
        log.debug("producer of %r: flush failed, retrying: %s", queue, error)
    elif isinstance(error, NotDurable):
        log.warning("producer of %r: buffered messages flushed but %s", queue, error)
    else:
        log.warning(
            "producer of %r: Redis refused buffered messages; they stay buffered and are "
            "tried again: %s: %s",
            queue,
            type(error).__name__,
            error,
        )


def demoted(exc: redis.ResponseError) -> bool:
    """True when a reply says the server we wrote to is a replica now."""
    return isinstance(exc, redis.exceptions.ReadOnlyError) or "used with replica" in str(exc)
