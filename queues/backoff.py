"""Delay arithmetic shared by retries (kept in Redis) and reconnect loops (in process)."""

from __future__ import annotations

import random


def retry_delay(
    deliveries: int,
    *,
    base: float,
    cap: float,
    jitter: float = 0.0,
    rand: random.Random | None = None,
) -> float:
    """Seconds to wait before delivery ``deliveries + 1``: base * 2**(deliveries-1), capped.

    ``jitter`` (0..1) spreads the delay uniformly over ``delay * (1 ± jitter)`` so that a
    burst of failures does not come back as a burst.
    """
    if deliveries < 1:
        deliveries = 1
    exponent = min(deliveries - 1, 62)  # 2**63 overflows nothing, but caps anyway
    delay = min(cap, base * (2**exponent))
    if jitter:
        spread = (rand or random).uniform(-jitter, jitter)
        delay = max(0.0, delay * (1.0 + spread))
    return delay


class Backoff:
    """Exponential delays for repeated failures of one thing (reconnects); reset on success."""

    def __init__(self, base: float = 0.1, cap: float = 2.0) -> None:
        self.base = base
        self.cap = cap
        self.failures = 0

    def next(self) -> float:
        """Record a failure and return how long to wait before trying again."""
        self.failures += 1
        return retry_delay(self.failures, base=self.base, cap=self.cap, jitter=0.2)

    def reset(self) -> None:
        self.failures = 0
