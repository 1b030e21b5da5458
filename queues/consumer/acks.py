"""The acknowledgements a consumer owes Redis, sent in batches.

Handled entries are acknowledged by the next read (in the same round trip), by the
read-ahead, or by the heartbeat every ``ack_interval``, whichever comes first. The buffer
shares the engine's lock: an id leaves the in-flight register in the same step as its ack
is queued (``extend_locked``), so the heartbeat never refreshes an entry already
acknowledged in Redis.
"""

from __future__ import annotations

import threading
from typing import Any

from queues.keys import QueueKeys


class AckBuffer:
    def __init__(self, client: Any, keys: QueueKeys, group: str, lock: threading.Condition) -> None:
        self._client = client
        self._stream = keys.stream
        self._group = group
        self._lock = lock
        self._ids: list[str] = []

    def append(self, entry_id: str) -> None:
        with self._lock:
            self._ids.append(entry_id)

    def extend_locked(self, ids: list[str]) -> None:
        """Queue ``ids``; the caller holds the lock."""
        self._ids.extend(ids)

    def take(self) -> list[str]:
        """Every id queued so far (the caller sends them, or puts them back on failure)."""
        with self._lock:
            ids, self._ids = self._ids, []
        return ids

    def put_back(self, ids: list[str]) -> None:
        """Ids whose XACK failed: acknowledgements are idempotent, they go out again later."""
        if ids:
            with self._lock:
                self._ids[:0] = ids

    def flush(self) -> None:
        """XACK what is queued now."""
        ids = self.take()
        if not ids:
            return
        try:
            self._client.xack(self._stream, self._group, *ids)
        except BaseException:
            self.put_back(ids)
            raise
