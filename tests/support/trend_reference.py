"""Today's GroupTrend as it was before it kept running sums (2026-12-01): it refits its
whole window on every sample. The reference the incremental tracker must agree with
(tests/dashboard/test_trend_incremental.py) and the "before" of ``python -m tests.bench.trend
--observe``. Not used by the monitor; do not change it to follow the tracker."""

from __future__ import annotations

import dataclasses
from collections import deque

from dashboard.monitor.trend import (
    MAX_SAMPLES,
    Policy,
    Sample,
    Verdict,
    _alike,
    _settled,
    classify,
    fit,
    growing,
)


class RefitTrend:
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
