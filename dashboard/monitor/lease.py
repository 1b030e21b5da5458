"""One active monitor among several: a lease row in the database, with an expiry.

Whoever holds the ``MonitorLease`` row polls; it renews the lease every cycle and gives it
up on exit. A killed holder simply stops renewing and the lease expires after ``ttl``
seconds, so another monitor takes over within the lease time — no lock without an expiry.

Why the database and not Redis: every producer can write the Redis the queues live on, so
a lease there (``SET sw:monitor:lease x`` without expiry) could be forged to stop every
monitor. Producers never write the dashboard's database. Each step is one conditional
UPDATE (or an INSERT guarded by the unique key), atomic on SQLite and PostgreSQL alike.
Expiry is judged by the monitors' clocks: keep the hosts' clocks in sync (NTP) and the ttl
well above their skew.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

log = logging.getLogger(__name__)

LEASE_KEY = "monitor"


@dataclass(frozen=True)
class Holder:
    """Who holds the lease, since when, until when (unless renewed)."""

    name: str
    since: datetime
    expires_at: datetime


class Lease:
    """Acquire/renew/release of the monitor lease. Not thread-safe; one per monitor."""

    def __init__(self, *, ttl: float, key: str = LEASE_KEY) -> None:
        self.key = key
        self.ttl = max(0.1, float(ttl))
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held = False
        #: monotonic deadline of our last successful renewal (database outages)
        self._valid_until = 0.0

    def acquire_or_renew(self) -> bool:
        """True if this monitor holds the lease now.

        A database error is not a lost lease: the holder keeps polling until its last
        renewal would have expired (nobody else can take it sooner), then stands by.
        """
        from dashboard.models import MonitorLease

        now = timezone.now()
        until = now + timedelta(seconds=self.ttl)
        try:
            taken = (
                MonitorLease.objects.filter(key=self.key)
                .filter(Q(holder=self.token) | Q(expires_at__lte=now))
                .update(
                    holder=self.token,
                    expires_at=until,
                    # keep "since" on a renewal; a takeover starts a new tenure
                    **({} if self.held else {"acquired_at": now}),
                )
            )
            if not taken:
                try:
                    with transaction.atomic():
                        MonitorLease.objects.create(
                            key=self.key, holder=self.token, acquired_at=now, expires_at=until
                        )
                    taken = 1
                except IntegrityError:
                    taken = 0  # someone holds it (or created it just now)
        except DatabaseError as exc:
            still = self.held and time.monotonic() < self._valid_until
            log.warning(
                "monitor lease: database error %s; %s", exc, "holding" if still else "standing by"
            )
            self.held = still
            return still
        if taken and not self.held:
            log.info("monitor %s: took the lease", self.token)
        self.held = bool(taken)
        if self.held:
            self._valid_until = time.monotonic() + self.ttl
        return self.held

    def holder(self) -> Holder | None:
        """The current holder (None when nobody holds an unexpired lease)."""
        from dashboard.models import MonitorLease

        row = MonitorLease.objects.filter(key=self.key, expires_at__gt=timezone.now()).first()
        return None if row is None else Holder(row.holder, row.acquired_at, row.expires_at)

    def release(self) -> None:
        """Give the lease up at once (on clean exit) so a standby need not wait for expiry."""
        from dashboard.models import MonitorLease

        if self.held:
            with contextlib.suppress(DatabaseError):  # else it simply expires on its own
                MonitorLease.objects.filter(key=self.key, holder=self.token).update(
                    expires_at=timezone.now()
                )
            self.held = False
            self._valid_until = 0.0
