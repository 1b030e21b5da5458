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


def _side(value: float, bar: float, err: float) -> int:
    """1 when ``value`` is above ``bar`` even if off by ``err``, -1 when below, 0 unsure."""
    if value - bar > err:
        return 1
    return -1 if value - bar < -err else 0


def _settled(sample: Sample) -> bool:
    """A sample whose trend no window decides: no lag (OK), or lag and no active consumer
    (STOP)."""
    return not sample.lag or sample.active_consumers == 0


#: Relative slack of ``GroupTrend``'s tie guard on top of the reference's rounding bounds.
_SLACK = 1e-6

#: Past this many ms from its time origin a tracker moves the origin to its newest sample,
#: so the running sums stay small integers (fast) however long the tracker lives.
_REBASE_MS = 1 << 20


class GroupTrend:
    """One group's sliding window and the hold/hysteresis of its WARN. Not thread-safe.

    ``observe`` costs O(1) per sample, not O(window): the tracker keeps running state that
    it updates when a sample enters the window and when one leaves it from the left (by
    time, or past ``MAX_SAMPLES``) — sums for the lag regression, the newest rewinding pair,
    the newest sample with no lag and with no entries-read, how many of the last samples
    are alike — and each sample's last-delivered id is parsed once. 30 000 groups polled
    every second made refitting 60-sample windows the bulk of a monitor cycle. Its verdicts
    are those of ``classify`` and ``fit`` over the window (the reference, kept as pure
    functions): the same states, and fits equal up to float rounding (tests/dashboard/
    test_trend_incremental.py checks it against the tracker that refitted every sample).

    The regression sums are exact integers (time in ms from a per-tracker origin): no
    cancellation against epoch times of 1.8e12 ms, and each fitted value is one correctly
    rounded division. ``fit`` rounds differently (floats of epoch seconds), so a value that
    lands on a bar of ``growing`` could be judged the other way; when one is nearer a bar
    than the reference's rounding can reach, the tracker asks ``fit`` itself (rare: O(window)
    once).

    A window of three samples or more, all alike, is *steady* when another sample alike
    cannot change its verdict (no lag, or no active consumer; else half a window long, and
    no WARN open or pending): ``holds`` then says so and ``observe`` answers without a fit
    (10 000 idle groups every second).
    """

    __slots__ = (
        "policy",
        "window",
        "warn",
        "flip_since_ms",
        "last",
        "steady_under",
        "_seq",
        "_first_seq",
        "_last_id",
        "_rewind_seq",
        "_bad_lag_seq",
        "_no_read_seq",
        "_alike_run",
        "_origin",
        "_n",
        "_st",
        "_sy",
        "_stt",
        "_sty",
        "_syy",
        "_first_lag_at",
        "_last_lag_at",
    )

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.window: deque[Sample] = deque(maxlen=MAX_SAMPLES)
        self.warn = False  # WARN is open
        self.flip_since_ms: int | None = None  # when the evidence started to disagree
        self.last: Verdict | None = None
        self.steady_under: Policy | None = None  # the policy the window is steady under
        # Samples are numbered as they come; the window holds _first_seq .. _seq - 1. A fact
        # about the window is "the newest sample (or pair) with it": inside while its number
        # is >= _first_seq, so leaving the window costs nothing.
        self._seq = 0
        self._first_seq = 0
        self._last_id: tuple[int, int] | None = None  # window[-1]'s last_delivered_id, parsed
        self._rewind_seq = -1  # the older sample of the newest pair that went backwards
        self._bad_lag_seq = -1  # the newest sample whose lag is not > 0 (STALL needs none)
        self._no_read_seq = -1  # the newest sample with entries_read None
        self._alike_run = 0  # the last samples alike the newest one (may outrun the window)
        # Lag regression over the samples with a known lag: n, Σt, Σy, Σt², Σty, Σy², with
        # t in ms from _origin and y the lag (exact integers).
        self._origin = 0
        self._n = 0
        self._st = self._sy = self._stt = self._sty = self._syy = 0
        self._first_lag_at: int | None = None  # at_ms of the first of them; None: look it up
        self._last_lag_at = 0

    def holds(self, sample: Sample) -> bool:
        """Whether observing ``sample`` would give the last verdict again (a steady window
        and a sample alike its samples). Changes nothing."""
        if self.steady_under is None or self.last is None or not self.window:
            return False
        if not _alike(self.window[-1], sample):
            return False
        if self.steady_under is not self.policy and self.steady_under != self.policy:
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
        window = self.window
        if len(window) == MAX_SAMPLES:
            self._drop()  # what the deque's maxlen would drop, with its sums
        seq = self._seq
        self._seq = seq + 1
        at, read, lag = sample.at_ms, sample.entries_read, sample.lag
        before = window[-1] if window else None
        if before is not None and _alike(before, sample):
            self._alike_run += 1  # same reads, same id: nothing went back, nothing to parse
        else:
            self._alike_run = 1
            parsed = _id_tuple(sample.last_delivered_id)
            if before is not None and (
                (
                    before.entries_read is not None
                    and read is not None
                    and read < before.entries_read
                )
                or (self._last_id is not None and parsed is not None and parsed < self._last_id)
            ):
                self._rewind_seq = seq - 1
            self._last_id = parsed
        if not (lag and lag > 0):
            self._bad_lag_seq = seq
        if read is None:
            self._no_read_seq = seq
        if lag is not None:
            if self._n == 0:
                self._origin, self._first_lag_at = at, at
            elif not -_REBASE_MS < at - self._origin < _REBASE_MS:
                self._rebase(at)
            t = at - self._origin
            self._n += 1
            self._st += t
            self._sy += lag
            self._stt += t * t
            self._sty += t * lag
            self._syy += lag * lag
            self._last_lag_at = at
        window.append(sample)
        horizon = at - int(self.policy.window_s * 1000)
        while len(window) > 1 and window[0].at_ms < horizon:
            self._drop()

    def _drop(self) -> None:
        """Take the oldest sample out of the window and out of the running state."""
        old = self.window.popleft()
        self._first_seq += 1
        if old.lag is not None:
            t, lag = old.at_ms - self._origin, old.lag
            self._n -= 1
            self._st -= t
            self._sy -= lag
            self._stt -= t * t
            self._sty -= t * lag
            self._syy -= lag * lag
            # It was the first with a lag; the next is the new first sample, or is looked up
            # when needed.
            first = self.window[0]  # never empty here: the newest sample stays
            self._first_lag_at = first.at_ms if first.lag is not None else None

    def _rebase(self, origin: int) -> None:
        """Move the time origin to ``origin`` (exact: the sums are integers)."""
        d = origin - self._origin
        n, st = self._n, self._st
        self._stt += -2 * d * st + n * d * d
        self._sty -= d * self._sy
        self._st = st - n * d
        self._origin = origin

    def _fit(self) -> Fit | None:
        """``fit(self.window)`` from the running sums."""
        n = self._n
        if n < 3:
            return None
        st, sy = self._st, self._sy
        nxx = n * self._stt - st * st  # n·Σ(t - t̄)², exact
        if nxx <= 0:
            return fit(self.window)  # all at one instant: let the reference's rounding say
        nxy = n * self._sty - st * sy
        nyy = n * self._syy - sy * sy
        first = self._first_lag_at
        if first is None:  # each sample is passed over once: amortised O(1)
            first = self._first_lag_at = next(s.at_ms for s in self.window if s.lag is not None)
        last = self._last_lag_at
        read0, read1 = self.window[0].entries_read, self.window[-1].entries_read
        return Fit(
            slope=1000 * nxy / nxx,  # per s
            stderr=math.sqrt((nyy * nxx - nxy * nxy) * 1_000_000 / ((n - 2) * nxx * nxx)),
            span_s=last / 1000.0 - first / 1000.0,  # as fit() rounds it
            samples=n,
            fitted_lag=(sy * nxx + nxy * (n * (last - self._origin) - st)) / (n * nxx),
            read=read1 - read0
            if read0 is not None and read1 is not None and read1 >= read0
            else None,
        )

    def _growing(self, line: Fit, bars: Policy) -> bool | None:
        """``growing(line, bars)`` as it would answer for ``fit(self.window)``; None when a
        value is too near its bar to tell.

        ``growing`` is a conjunction of comparisons; each is judged with this line's value
        and a bound on how far ``fit`` can be from it. ``fit`` rounds epoch seconds
        (~1.8e9, ulp 2.4e-7 s) and sums them: its t - t̄ is off by at most ~n·ε·|t| and
        its y - ȳ by ~n·ε·|y|; the bounds below take 1e-15 (4.5 ε) for n·ε, and follow the
        errors into the slope, the fitted lag and the standard error."""
        if line.span_s < bars.window_s / 2:
            return False  # span_s is rounded as fit() rounds it: no slack needed
        n = self._n
        nxx = n * self._stt - self._st * self._st
        if nxx <= 0:
            return None  # the line came from fit() itself (one instant): let it judge
        nyy = n * self._syy - self._sy * self._sy
        sxx = nxx / (n * 1_000_000)  # Σ(t - t̄)², s²
        syy = nyy / n  # Σ(y - ȳ)²
        y_mean = self._sy / n
        big_t = abs((self._origin + self._st / n) / 1000) + math.sqrt(sxx)  # ≥ any |t|, s
        big_y = abs(y_mean) + math.sqrt(syy)  # ≥ any |y|
        dt, dy = 1e-15 * n * big_t, 1e-15 * n * big_y
        slope, stderr, growth = line.slope, line.stderr, line.growth
        rel = _SLACK + 2 * dt * math.sqrt(n / sxx)  # also the reference's Σ(t - t̄)² error
        slope_err = (
            rel * abs(slope)
            + (dt * math.sqrt(n * syy) + dy * math.sqrt(n * sxx) + n * dt * dy) / sxx
            + 1e-15 * n * math.sqrt(syy / sxx)
        )
        growth_err = slope_err * line.span_s + _SLACK * abs(growth)
        # The commonest answers first (shrinking, flat, noise next to the reads) ...
        sides = [_side(slope, 0.0, slope_err), _side(growth, bars.min_growth, growth_err)]
        if line.read is not None:
            share = bars.min_share * line.read
            sides.append(_side(growth, share, growth_err + _SLACK * abs(share)))
        if -1 in sides:
            return False  # one comparison fails for sure: so does the conjunction
        # ... then the fitted lag and the t-statistic, whose bounds cost more.
        point_err = slope_err * math.sqrt(sxx) + 2 * dt * abs(slope) + dy  # a fitted value's
        stderr_err = rel * stderr + point_err * math.sqrt(n / ((n - 2) * sxx))
        sides.append(
            _side(line.fitted_lag, bars.min_growth, _SLACK * abs(line.fitted_lag) + point_err)
        )
        # slope > 0 given: "stderr == 0 or slope / stderr >= min_t"
        sides.append(_side(slope, bars.min_t * stderr, slope_err + abs(bars.min_t) * stderr_err))
        if -1 in sides:
            return False
        return None if 0 in sides else True

    def _state(self, sample: Sample) -> str:
        """``classify(self.window, self.policy)`` without its fit: "OK" where the fit would
        decide between OK and WARN (``observe``'s hold does)."""
        if self._rewind_seq >= self._first_seq:
            return "REWIND"
        if not sample.lag:
            return "OK"
        if sample.active_consumers == 0:
            return "STOP"
        window = self.window
        if len(window) < 3:
            return "OK"
        # Half a window at least: a consumer reading in batches reads nothing for a few polls.
        if (
            sample.at_ms - window[0].at_ms >= self.policy.window_s * 500
            and self._bad_lag_seq < self._first_seq
            and self._no_read_seq < self._first_seq
            and window[0].entries_read == sample.entries_read
        ):
            return "STALL"
        return "OK"

    def observe_settled(self, sample: Sample) -> str | None:
        """For a settled sample (no lag, or no active consumer) that ``holds`` does not
        answer, add it and return the state ``observe`` would give, without the line: the
        line decides nothing about such a sample (REWIND, OK or STOP). ``line()`` fits it
        when it is wanted. None, with nothing added, for any other sample.

        The monitor's still queues (issue #20): with a change every few polls a group's
        window is never uniform, so ``holds`` rarely answers, and fitting 27 000 windows
        only to show their slopes was ~7 % of a cycle (py-spy). The last verdict is
        forgotten (its line was not computed): the next ``observe`` takes its full path."""
        if not _settled(sample) or self.holds(sample):
            return None
        self._add(sample)
        if not sample.lag:
            self.warn, self.flip_since_ms = False, None  # caught up: nothing is growing
        self.last = None
        self.steady_under = None
        return self._state(sample)

    def line(self) -> Fit | None:
        """The fit of the window as it is (what ``observe`` shows with a settled sample)."""
        return self._fit()

    def observe(self, sample: Sample) -> Verdict:
        """Add the newest sample and judge the window."""
        if self.holds(sample):
            self._add(sample)
            last = self.last
            assert last is not None
            if last.fit is None:
                return last
            # the same flat line, over the window as it now is
            held = last.fit
            span = (sample.at_ms - self.window[0].at_ms) / 1000.0
            if held.span_s == span and held.samples == len(self.window):
                return last  # regular polls: the very same window length
            return Verdict(
                last.state,
                Fit(
                    slope=held.slope,
                    stderr=held.stderr,
                    span_s=span,
                    samples=len(self.window),
                    fitted_lag=held.fitted_lag,
                    read=held.read,
                ),
            )
        self._add(sample)
        line = self._fit()
        state = self._state(sample)
        if not sample.lag:
            self.warn, self.flip_since_ms = False, None  # caught up: nothing is growing
        elif state == "OK":  # OK or WARN by the fit, held
            bars = self.policy.relaxed() if self.warn else self.policy
            grows = self._growing(line, bars) if line is not None else False
            if grows is None:  # on a bar: the reference decides, and its line is shown
                line = fit(self.window)
                grows = line is not None and growing(line, bars)
            if grows == self.warn:
                self.flip_since_ms = None
            else:
                if self.flip_since_ms is None:
                    self.flip_since_ms = sample.at_ms
                if sample.at_ms - self.flip_since_ms >= self.policy.hold_s * 1000:
                    self.warn = not self.warn
                    self.flip_since_ms = None
            state = "WARN" if self.warn else "OK"
        self.last = Verdict(state, line)
        window = self.window
        if len(window) < 3 or self._alike_run < len(window):
            steady = False
        elif _settled(sample):
            steady = True  # OK or STOP whatever the window's length and the hold
        else:
            # STALL once half a window long; OK with no WARN open or about to open
            steady = sample.at_ms - window[0].at_ms >= self.policy.window_s * 500 and (
                state == "STALL" or (not self.warn and self.flip_since_ms is None)
            )
        self.steady_under = self.policy if steady else None
        return self.last


def worst(trends: Sequence[str]) -> str:
    return max(trends, key=lambda t: TREND_ORDER.get(t, 0), default="OK")
