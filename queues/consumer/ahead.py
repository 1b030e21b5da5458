"""The next batch, read while the one in hand is handled (concurrency=1, see
queues/readahead.py for the transport): the commands in flight, and the stash of entries
their reply delivered that are not handed on yet.

Entries in the stash are this consumer's (pending under its name): the heartbeat keeps
them fresh like in-flight ones and the claim scan leaves them alone (``stashed_ids``). The
stash is guarded by the engine's lock, so that an id is always in the stash or in the
in-flight register when either is read.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis

from queues import commands, readahead
from queues.commands import Delivery
from queues.consumer.acks import AckBuffer
from queues.exceptions import QueueUnavailable
from queues.keys import QueueKeys

log = logging.getLogger(__name__)


class ReadAheadBatch:
    def __init__(
        self,
        transport: readahead.ReadAhead,
        keys: QueueKeys,
        group: str,
        name: str,
        acks: AckBuffer,
        lock: threading.Condition,
    ) -> None:
        self._transport = transport
        self._stream = keys.stream
        self._group = group
        self._name = name
        self._acks = acks
        self._lock = lock  # the engine's: guards the stash
        self._io = threading.Lock()  # one send or receive at a time (loop and heartbeat)
        self._acks_sent: list[str] = []  # acknowledgements sent with the read in flight
        self._stash: list[Delivery] = []
        #: monotonic time the read in flight went out
        self.sent_at = 0.0
        #: the COUNT of the read in flight (or of the one whose reply is stashed)
        self.count = 0

    @property
    def pending(self) -> bool:
        """A read is in flight (its reply not taken in yet)."""
        return self._transport.pending

    def has_rows(self) -> bool:
        """The next read is already made: in flight or in the stash."""
        return self._transport.pending or bool(self._stash)

    def stashed_ids(self) -> list[str]:
        """Ids in the stash; the caller holds the engine's lock."""
        return [work.id for work in self._stash]

    def send(self, count: int) -> None:
        """Send the next read (never blocking) with the acknowledgements waiting so far.
        A failure here is not raised: the batch in hand must be handled first, and the
        next ordinary read meets the same failure."""
        with self._io:
            acks = self._acks.take()
            sent: list[tuple[Any, ...]] = []
            if acks:
                sent.append(("XACK", self._stream, self._group, *acks))
            sent.append(
                (
                    "XREADGROUP", "GROUP", self._group, self._name,
                    "COUNT", count, "STREAMS", self._stream, ">",
                )
            )  # fmt: skip
            try:
                self._transport.send(sent)
            except redis.RedisError as exc:
                self._acks.put_back(acks)
                log.debug("consumer %s: could not read ahead: %s", self._name, exc)
                return
            self._acks_sent = acks
            self.sent_at = time.monotonic()
            self.count = count

    def collect(self) -> None:
        """Take the reply into the stash (idempotent, thread-safe). The loop does it before
        its next read; the heartbeat does it when a slow batch keeps the reply waiting, so
        that the entries it delivered are kept fresh meanwhile."""
        with self._io:
            if not self._transport.pending:
                return
            acks, self._acks_sent = self._acks_sent, []
            try:
                replies = self._transport.receive()
            except BaseException:
                # the entries it may have delivered stay pending: claimed after claim_idle
                self._acks.put_back(acks)
                raise
            rows = commands.read_rows(replies[-1])
            with self._lock:
                self._stash.extend(rows)

    def take(self) -> list[Delivery]:
        """The stashed entries, handed on (the stash is empty after)."""
        with self._lock:
            rows, self._stash = self._stash, []
        return rows

    def finish(self) -> list[Delivery]:
        """On shutdown: what the read in flight delivered (those entries are this
        consumer's, to be handled), with what is stashed."""
        try:
            self.collect()
        except (redis.RedisError, QueueUnavailable) as exc:
            log.warning(
                "consumer %s: could not read the last read-ahead reply (%s); what it "
                "delivered stays pending for a claim",
                self._name,
                exc,
            )
            self._transport.discard()
        return self.take()

    def let_go(self) -> int:
        """Drop the read in flight and the stash (their entries stay pending for a claim);
        the acknowledgements sent with it go out again. Returns the entries dropped. Locks
        in the order of collect (never call it holding the engine's lock)."""
        with self._io:
            self._acks.put_back(self._acks_sent)
            self._acks_sent = []
            self._transport.discard()
        with self._lock:
            left = len(self._stash)
            self._stash = []
        return left

    def due_for_collect(self, now: float, heartbeat_interval: float) -> bool:
        """The reply has waited half a heartbeat interval: the heartbeat takes it in."""
        return self._transport.pending and now - self.sent_at > heartbeat_interval / 2
