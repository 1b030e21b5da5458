"""Threshold-free trend status per group, in the spirit of Burrow's lag evaluator.

From a sliding window of samples (time, entries-read, lag, consumers) classify:

- ``REWIND``: the group went backwards (entries-read or last-delivered id decreased).
- ``STOP``: there is lag but no active consumer.
- ``STALL``: there is lag all window long, consumers are active, nothing was read.
- ``WARN``: lag never shrank across the window and grew, although the group was reading.
- ``OK``: anything else (including "lag is zero now", and too few samples to judge).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TREND_ORDER = {"OK": 0, "WARN": 1, "STALL": 2, "STOP": 3, "REWIND": 4}


@dataclass(frozen=True)
class Sample:
    at_ms: int
    entries_read: int | None
    lag: int | None
    last_delivered_id: str = ""
    active_consumers: int = 0


def _id_tuple(entry_id: str) -> tuple[int, int] | None:
    head, _, tail = entry_id.partition("-")
    if not head.isdigit():
        return None
    return int(head), int(tail) if tail.isdigit() else 0


def classify(window: Sequence[Sample]) -> str:
    """The trend of one group from its samples, oldest first."""
    if not window:
        return "OK"
    for before, after in zip(window, window[1:], strict=False):
        if (
            before.entries_read is not None
            and after.entries_read is not None
            and after.entries_read < before.entries_read
        ):
            return "REWIND"
        old, new = _id_tuple(before.last_delivered_id), _id_tuple(after.last_delivered_id)
        if old is not None and new is not None and new < old:
            return "REWIND"
    latest = window[-1]
    if not latest.lag:
        return "OK"
    if latest.active_consumers == 0:
        return "STOP"
    if len(window) < 3:
        return "OK"
    lags = [s.lag for s in window]
    reads = [s.entries_read for s in window]
    if all(lag and lag > 0 for lag in lags) and None not in reads and reads[0] == reads[-1]:
        return "STALL"
    if None in lags:
        return "OK"
    numeric = [int(lag) for lag in lags if lag is not None]
    never_shrank = all(b >= a for a, b in zip(numeric, numeric[1:], strict=False))
    reading = None not in reads and reads[-1] != reads[0]
    if never_shrank and numeric[-1] > numeric[0] and reading:
        return "WARN"
    return "OK"


def worst(trends: Sequence[str]) -> str:
    return max(trends, key=lambda t: TREND_ORDER.get(t, 0), default="OK")
