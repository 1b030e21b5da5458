"""One active monitor among several: a lease key in Redis with an expiry.

Whoever holds ``sw:monitor:lease`` polls; it renews the lease every cycle and deletes it on
exit. A killed holder simply stops renewing and the key expires after ``ttl`` seconds, so
another monitor takes over within the lease time — no lock without an expiry.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from pathlib import Path

import redis

LEASE_KEY = "sw:monitor:lease"
_LUA = Path(__file__).with_name("lua")


class Lease:
    """Acquire/renew/release of the monitor lease. Not thread-safe; one per monitor."""

    def __init__(self, client: redis.Redis, *, ttl: float, key: str = LEASE_KEY) -> None:
        self.client = client
        self.key = key
        self.ttl_ms = max(1, int(ttl * 1000))
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held = False
        self._renew = client.register_script((_LUA / "lease_renew.lua").read_text())
        self._release = client.register_script((_LUA / "lease_release.lua").read_text())

    def acquire_or_renew(self) -> bool:
        """True if this monitor holds the lease now. Raises redis errors (caller decides)."""
        if self.held and self._renew(keys=[self.key], args=[self.token, self.ttl_ms]):
            return True
        self.held = bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        return self.held

    def holder(self) -> str | None:
        value = self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else value

    def release(self) -> None:
        """Give the lease up at once (on clean exit) so a standby need not wait for expiry."""
        if self.held:
            # If Redis is gone the lease simply expires on its own.
            with contextlib.suppress(redis.RedisError):
                self._release(keys=[self.key], args=[self.token])
            self.held = False
