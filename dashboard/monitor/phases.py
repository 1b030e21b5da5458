"""Where a monitor cycle spends its time: the Redis poll, the database, alerts, live pushes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

#: The phases of a cycle, in the order they run; every millisecond of a cycle is in one.
PHASES = ("poll", "database", "alerts", "pushes")


class PhaseTimer:
    """Milliseconds per phase of one cycle (a phase may be entered several times)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.ms = dict.fromkeys(PHASES, 0.0)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if name not in self.ms:
            raise ValueError(f"unknown phase {name!r}; expected one of {PHASES}")
        start = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] += (time.perf_counter() - start) * 1000

    def total_ms(self) -> float:
        """Wall time since the cycle started (the phases plus the little in between)."""
        return (time.perf_counter() - self.started) * 1000

    def rounded(self) -> dict[str, float]:
        return {name: round(ms, 1) for name, ms in self.ms.items()}
