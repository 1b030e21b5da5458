"""The processing guard of ``Consumer(guard=True)``: no two live consumers run the handler
of the same message at the same time.

Before a handler runs, its consumer takes the token ``<stream>:processing:<group>:<id>``
(guard.lua ``take``: set if free, atomically, with a time to live of ``2 * claim_idle``); the
heartbeat refreshes the tokens of handlers still running; the token is deleted as soon as
the handler returns or raises, just before its acknowledgement is queued. A consumer that
finds the token held by another does not run the handler and does not acknowledge: it hands
the entry back to the holder with its delivery count restored (the holder acknowledges it
when done; if the holder died, its token expires and the message is claimed again) and
counts the delivery as a duplicate.

What it prevents: two live consumers running the same message's handler at the same time.
A consumer claims a message from a live one when that one could not keep it fresh for
``claim_idle`` (a stall: GC pause, swapped-out or SIGSTOPped process, its heartbeat cut off
from Redis) or held it past ``handler_timeout``. The token lives ``2 * claim_idle`` and is
refreshed by the heartbeat for as long as the handler runs (past ``handler_timeout`` too:
the message may be claimed, but not run elsewhere while its handler still runs), so the
claimer leaves it alone unless the holder could not reach Redis for ``2 * claim_idle``.
What it does not prevent: a second run AFTER the first — a consumer killed after the
handler's effect and before the ack (the message is claimed and runs again), a token that
expired in a longer stall, a Redis restart that lost the tokens. A killed consumer's token
delays the one message it was running by up to ``2 * claim_idle``. For handlers that write
to a database, ``queues.contrib.django.idempotent`` prevents the second run too.

The calls are built here without I/O; the sync and asyncio consumers run them.
"""

from __future__ import annotations

import secrets
import threading

from queues.keys import QueueKeys

Call = tuple[list[str], list[str | int]]


class ProcessingGuard:
    """The tokens one consumer holds in one group (thread-safe)."""

    def __init__(self, keys: QueueKeys, group: str, consumer: str, ttl_ms: int) -> None:
        self.keys = keys
        self.group = group
        #: "<random>:<consumer name>": a restarted process with the same name is not the
        #: holder of its predecessor's tokens; guard.lua hands entries back to the name
        self.owner = f"{secrets.token_hex(4)}:{consumer}"
        self.ttl_ms = max(1, int(ttl_ms))
        self._held: set[str] = set()  # entry ids whose token this consumer holds
        self._lock = threading.Lock()

    def take_call(self, entry_id: str, deliveries: int) -> Call:
        """Take the token of an entry delivered for the ``deliveries``-th time."""
        return [self.keys.processing(self.group, entry_id), self.keys.stream], [
            "take",
            self.owner,
            self.ttl_ms,
            self.group,
            entry_id,
            max(0, deliveries - 1),
        ]

    def taken(self, entry_id: str, reply: object) -> bool:
        """Record the reply of ``take_call``; True when this consumer may run the handler."""
        if not int(reply):  # type: ignore[call-overload]
            return False
        with self._lock:
            self._held.add(entry_id)
        return True

    def release_call(self, entry_id: str) -> Call:
        with self._lock:
            self._held.discard(entry_id)
        return [self.keys.processing(self.group, entry_id)], ["release", self.owner, self.ttl_ms]

    def refresh_call(self) -> Call | None:
        """The refresh of every token held (None when there is none)."""
        with self._lock:
            ids = list(self._held)
        if not ids:
            return None
        keys = [self.keys.processing(self.group, i) for i in ids]
        return keys, ["refresh", self.owner, self.ttl_ms]
