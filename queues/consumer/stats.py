"""What a consumer counts, and what handling one entry came to (the outcome codes)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class ConsumerStats:
    """Counters of one Consumer object (since it was created; every priority level)."""

    processed: int = 0  # handler returned, entry acknowledged
    failed: int = 0  # handler raised
    retried: int = 0  # parked for a retry
    dead_lettered: int = 0
    claimed: int = 0  # taken over from other consumers or released retries
    duplicates: int = 0  # deliveries skipped: already processed (AlreadyProcessed) or guarded
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, count: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + count)


#: What handling an entry came to (Settler.process): the handler returned (ack), the entry
#: was meant for another group (ack, not counted), or it was settled otherwise (retry / dead
#: letter).
PROCESSED, SKIPPED, SETTLED = 1, 2, 0
#: Ordered mode only: the handler raised and the entry stays pending for a retry in place.
FAILED = -1
#: The consumer shut down while the handler ran: its outcome is dropped (the entry stays
#: pending for another consumer), since nothing may be written after run() returns.
ABANDONED = -2
