"""In/out rates from entries-added / entries-read deltas, and forecasts from them."""

from __future__ import annotations

from collections.abc import Sequence

from dashboard.monitor.trend import Sample


def rate(first: tuple[int, int | None], last: tuple[int, int | None]) -> float | None:
    """Per-second change of a counter between two (time ms, value) points."""
    (t0, v0), (t1, v1) = first, last
    if v0 is None or v1 is None or t1 <= t0 or v1 < v0:
        return None
    return (v1 - v0) * 1000.0 / (t1 - t0)


def read_rate(window: Sequence[Sample]) -> float | None:
    """Messages/s a group read across its window."""
    if len(window) < 2:
        return None
    return rate(
        (window[0].at_ms, window[0].entries_read), (window[-1].at_ms, window[-1].entries_read)
    )


def time_to_drain(lag: int | None, rate_in: float | None, rate_out: float | None) -> float | None:
    """Seconds until the lag is zero at current rates; 0 if none, None if never."""
    if lag is None:
        return None
    if lag == 0:
        return 0.0
    if rate_out is None:
        return None
    net = rate_out - (rate_in or 0.0)
    return lag / net if net > 0 else None


def time_to_breach(
    lag: int | None, limit: float | None, rate_in: float | None, rate_out: float | None
) -> float | None:
    """Seconds until the lag crosses ``limit`` at current rates; None if it never will."""
    if lag is None or limit is None or rate_in is None:
        return None
    if lag >= limit:
        return 0.0
    net = rate_in - (rate_out or 0.0)
    return (limit - lag) / net if net > 0 else None
