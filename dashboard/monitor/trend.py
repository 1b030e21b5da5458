"""Threshold-free trend status per group, judged on a sliding time window of samples.

From the samples of the last ``window_s`` seconds (time, entries-read, lag, consumers):

- ``REWIND``: the group went backwards (entries-read or last-delivered id decreased).
- ``STOP``: there is lag but no active consumer.
- ``STALL``: there is lag all window long (half a window at least), consumers are active,
  nothing was read.
- ``WARN``: the lag grows. Judged on the least-squares slope of lag over time, not on
  "never shrank": batch consumption makes a saw-tooth that hides a steady climb from a
  monotonicity test, while a near-empty group wiggling 0..10 trips it. The climb over the
  window must clear a noise floor (a few messages are never a trend), be a visible share of
  what consumers read meanwhile, and stand out of the scatter (slope t-statistic).
- ``OK``: anything else (including "lag is zero now", and too little history to judge).

``WARN`` opens only after growth has held for ``hold_s`` and resolves only after a looser
test (half the bars) has failed for ``hold_s``: a lag hovering at the bar makes one alert,
not a flapping series. ``REWIND``/``STOP``/``STALL`` are facts, reported at once.

Pure: no Django, no Redis.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

TREND_ORDER = {"OK": 0, "WARN": 1, "STALL": 2, "STOP": 3, "REWIND": 4}

#: Samples kept per group whatever the poll interval, to bound memory at fast polls.
MAX_SAMPLES = 600


class Sample(NamedTuple):
    """One poll of a group. A tuple of plain values: the garbage collector stops tracking
    it, and a monitor keeps a window of them for each of 30 000 groups."""

    at_ms: int
    entries_read: int | None
    lag: int | None
    last_delivered_id: str = ""
    active_consumers: int = 0


@dataclass(frozen=True)
class Policy:
    """How the trend is judged (see the module docstring)."""

    window_s: float = 60.0
    hold_s: float = 20.0  # growth must hold this long to open WARN, and be gone as long to close
    min_growth: float = 50.0  # messages the lag must climb across the window
    min_share: float = 0.05  # ... and this share of what consumers read meanwhile
    min_t: float = 3.0  # slope / its standard error

    def relaxed(self) -> Policy:
        """The looser bars that keep an open WARN open (hysteresis)."""
        return Policy(
            self.window_s, self.hold_s, self.min_growth / 2, self.min_share / 2, self.min_t / 2
        )


@dataclass(frozen=True)
class Fit:
    """Least-squares line of lag against time over the window, and the reads meanwhile."""

    slope: float  # messages/s the lag grows (negative: shrinks)
    stderr: float  # standard error of the slope (0 for a perfect line)
    span_s: float  # seconds between the first and the last sample
    samples: int
    fitted_lag: float  # the line's value at the latest sample
    read: int | None  # entries read across the window (None: unknown)

    @property
    def growth(self) -> float:
        return self.slope * self.span_s

    @property
    def read_rate(self) -> float | None:
        return self.read / self.span_s if self.read is not None and self.span_s > 0 else None


@dataclass(frozen=True)
class Verdict:
    """A group's trend and the evidence behind it."""

    state: str
    fit: Fit | None = None


def fit(window: Sequence[Sample]) -> Fit | None:
    """The lag's regression line over ``window`` (oldest first); None with fewer than three
    samples with a known lag, or no time between them."""
    points = [(s.at_ms / 1000.0, float(s.lag)) for s in window if s.lag is not None]
    n = len(points)
    if n < 3:
        return None
    t_mean = sum(t for t, _ in points) / n
    y_mean = sum(y for _, y in points) / n
    sxx = sum((t - t_mean) ** 2 for t, _ in points)
    if sxx <= 0:
        return None
    slope = sum((t - t_mean) * (y - y_mean) for t, y in points) / sxx
    intercept = y_mean - slope * t_mean
    residual = sum((y - (intercept + slope * t)) ** 2 for t, y in points)
    stderr = math.sqrt(residual / (n - 2) / sxx) if n > 2 else math.inf
    reads = [s.entries_read for s in window]
    read = (
        reads[-1] - reads[0]
        if reads[0] is not None and reads[-1] is not None and reads[-1] >= reads[0]
        else None
    )
    return Fit(
        slope=slope,
        stderr=stderr,
        span_s=points[-1][0] - points[0][0],
        samples=n,
        fitted_lag=intercept + slope * points[-1][0],
        read=read,
    )


def growing(line: Fit, policy: Policy) -> bool:
    """Whether ``line`` shows the lag climbing, by ``policy``'s bars."""
    if line.slope <= 0 or line.span_s < policy.window_s / 2:
        return False  # shrinking, flat, or too little history to call it a trend
    if line.growth < policy.min_growth or line.fitted_lag < policy.min_growth:
        return False  # a lag of a few messages is never a trend
    if line.read is not None and line.growth < policy.min_share * line.read:
        return False  # drift that is noise next to what the consumers move
    return line.stderr == 0 or line.slope / line.stderr >= policy.min_t


def _id_tuple(entry_id: str) -> tuple[int, int] | None:
    head, _, tail = entry_id.partition("-")
    if not head.isdigit():
        return None
    return int(head), int(tail) if tail.isdigit() else 0


def classify(window: Sequence[Sample], policy: Policy | None = None) -> str:
    """The trend of one group from its samples, oldest first, without hold or hysteresis
    (``GroupTrend`` adds those): what the window shows right now."""
    policy = policy or Policy()
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
    # Half a window at least: a consumer reading in batches reads nothing for a few polls.
    long_enough = latest.at_ms - window[0].at_ms >= policy.window_s * 500
    if (
        long_enough
        and all(lag and lag > 0 for lag in lags)
        and None not in reads
        and reads[0] == reads[-1]
    ):
        return "STALL"
    line = fit(window)
    return "WARN" if line is not None and growing(line, policy) else "OK"


def _alike(a: Sample, b: Sample) -> bool:
    """Whether two samples tell the same (their times aside)."""
    return (
        a.lag == b.lag
        and a.entries_read == b.entries_read
        and a.last_delivered_id == b.last_delivered_id
        and a.active_consumers == b.active_consumers
    )


def _settled(sample: Sample) -> bool:
    """A sample whose trend no window decides: no lag (OK), or lag and no active consumer
    (STOP)."""
    return not sample.lag or sample.active_consumers == 0


class GroupTrend:
    """One group's sliding window and the hold/hysteresis of its WARN. Not thread-safe.

    A window of three samples or more, all alike, is *steady* when another sample alike
    cannot change its verdict (no lag, or no active consumer; else half a window long, and
    no WARN open or pending): ``observe`` then answers in O(1) instead of refitting the
    window (10 000 idle groups every second).
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.window: deque[Sample] = deque(maxlen=MAX_SAMPLES)
        self.warn = False  # WARN is open
        self.flip_since_ms: int | None = None  # when the evidence started to disagree
        self.last: Verdict | None = None
        self.steady_under: Policy | None = None  # the policy the window is steady under

    def holds(self, sample: Sample) -> bool:
        """Whether observing ``sample`` would give the last verdict again (a steady window
        and a sample alike its samples). Changes nothing."""
        if self.steady_under is None or self.last is None or not self.window:
            return False
        if not _alike(self.window[-1], sample) or self.steady_under != self.policy:
            return False
        horizon = sample.at_ms - int(self.policy.window_s * 1000)
        kept = len(self.window) + 1
        first = sample
        for old in self.window:  # the oldest sample kept once this one is in
            if kept <= 1 or old.at_ms >= horizon:
                first = old
                break
            kept -= 1
        if kept < 3:
            return False
        return _settled(sample) or sample.at_ms - first.at_ms >= self.policy.window_s * 500

    def advance(self, sample: Sample) -> None:
        """Add a sample ``holds`` said yes to, when its verdict is not wanted (the last one
        stands): no fit at all."""
        self._add(sample)

    def _add(self, sample: Sample) -> None:
        self.window.append(sample)
        horizon = sample.at_ms - int(self.policy.window_s * 1000)
        while len(self.window) > 1 and self.window[0].at_ms < horizon:
            self.window.popleft()

    def observe(self, sample: Sample) -> Verdict:
        """Add the newest sample and judge the window."""
        if self.holds(sample):
            self._add(sample)
            last = self.last
            assert last is not None
            if last.fit is None:
                return last
            # the same flat line, over the window as it now is
            span = (sample.at_ms - self.window[0].at_ms) / 1000.0
            return Verdict(
                last.state, dataclasses.replace(last.fit, span_s=span, samples=len(self.window))
            )
        self._add(sample)
        samples = list(self.window)
        line = fit(samples)
        state = classify(samples, self.policy)
        if not sample.lag:
            self.warn, self.flip_since_ms = False, None  # caught up: nothing is growing
        elif state in ("OK", "WARN"):
            bars = self.policy.relaxed() if self.warn else self.policy
            disagrees = (line is not None and growing(line, bars)) != self.warn
            if not disagrees:
                self.flip_since_ms = None
            else:
                if self.flip_since_ms is None:
                    self.flip_since_ms = sample.at_ms
                if sample.at_ms - self.flip_since_ms >= self.policy.hold_s * 1000:
                    self.warn = not self.warn
                    self.flip_since_ms = None
            state = "WARN" if self.warn else "OK"
        self.last = Verdict(state, line)
        if len(samples) < 3 or not all(_alike(old, sample) for old in samples):
            steady = False
        elif _settled(sample):
            steady = True  # OK or STOP whatever the window's length and the hold
        else:
            # STALL once half a window long; OK with no WARN open or about to open
            steady = sample.at_ms - samples[0].at_ms >= self.policy.window_s * 500 and (
                state == "STALL" or (not self.warn and self.flip_since_ms is None)
            )
        self.steady_under = self.policy if steady else None
        return self.last


def worst(trends: Sequence[str]) -> str:
    return max(trends, key=lambda t: TREND_ORDER.get(t, 0), default="OK")
