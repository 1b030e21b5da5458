"""The trend tracker's running sums judge exactly as refitting the whole window did.

``GroupTrend`` keeps O(1) state per sample; ``RefitTrend`` (tests.support.trend_reference)
is the tracker as it was, refitting its window on every sample. Both are fed the same random
polls — lags with zeros and gaps, reads that stall, jump back or go missing, ids that go
back or do not parse, consumers that come and go, irregular intervals, policy changes, long
runs of alike polls, windows longer than MAX_SAMPLES, lines drawn to land on a bar — and
must agree after every one: the same verdict (the fit up to float rounding), the same hold,
the same window.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from fractions import Fraction

import pytest

from dashboard.monitor import trend
from dashboard.monitor.trend import (
    MAX_SAMPLES,
    Fit,
    GroupTrend,
    Policy,
    Sample,
    Verdict,
    growing,
)
from tests.support.trend_reference import RefitTrend

EPOCH_MS = 1_800_000_000_000  # 2027: epoch seconds near 1.8e9, where float sums lose digits


def assert_same_fit(new: Fit | None, ref: Fit | None, window: list[Sample]) -> None:
    """Equal, up to how far fit()'s own rounding can be off: it sums epoch seconds (~1.8e9),
    so its t - t̄ can be off by n·ε·|t| (taken as 1e-15·n·|t|), which moves the line by
    that much times its slope and scatter."""
    assert (new is None) == (ref is None), (new, ref)
    if new is None or ref is None:
        return
    assert (new.span_s, new.samples, new.read) == (ref.span_s, ref.samples, ref.read)
    points = [(s.at_ms / 1000, s.lag) for s in window if s.lag is not None]
    n = len(points)
    t_mean, y_mean = sum(t for t, _ in points) / n, sum(y for _, y in points) / n
    sxx = sum((t - t_mean) ** 2 for t, _ in points)
    syy = sum((y - y_mean) ** 2 for _, y in points)
    dt = 1e-15 * n * max(abs(t) for t, _ in points)
    lag_err = dt * (abs(ref.slope) + math.sqrt(syy / sxx))  # on a value of the line
    per_s_err = lag_err / math.sqrt(sxx / n)  # on the slope and its standard error
    for got, want, err in (
        (new.slope, ref.slope, per_s_err),
        (new.stderr, ref.stderr, per_s_err),
        (new.fitted_lag, ref.fitted_lag, lag_err),
    ):
        assert abs(got - want) <= err + 1e-12 * abs(want), (new, ref)


def exact_fit(window: list[Sample]) -> tuple[Fraction, Fraction, Fraction] | None:
    """Slope, squared standard error and fitted lag of ``window``, in exact arithmetic."""
    points = [(Fraction(s.at_ms, 1000), Fraction(s.lag)) for s in window if s.lag is not None]
    n = len(points)
    if n < 3:
        return None
    zero = Fraction(0)
    t_mean = sum((t for t, _ in points), zero) / n
    y_mean = sum((y for _, y in points), zero) / n
    sxx = sum(((t - t_mean) ** 2 for t, _ in points), zero)
    if sxx == 0:
        return None
    slope = sum(((t - t_mean) * (y - y_mean) for t, y in points), zero) / sxx
    residual = sum(((y - y_mean - slope * (t - t_mean)) ** 2 for t, y in points), zero)
    return slope, residual / (n - 2) / sxx, y_mean + slope * (points[-1][0] - t_mean)


def assert_same(new: GroupTrend, ref: RefitTrend, got: Verdict, want: Verdict) -> None:
    assert got.state == want.state
    assert_same_fit(got.fit, want.fit, list(ref.window))
    assert (new.warn, new.flip_since_ms) == (ref.warn, ref.flip_since_ms)
    assert new.steady_under == ref.steady_under
    assert list(new.window) == list(ref.window)


def random_policy(rng: random.Random) -> Policy:
    return Policy(
        window_s=rng.choice([2.0, 5.0, 10.0, 20.0, 60.0, 60.0, 120.0, 900.0]),
        hold_s=rng.choice([0.0, 2.0, 5.0, 20.0]),
        min_growth=rng.choice([1.0, 5.0, 20.0, 50.0, 150.0]),
        min_share=rng.choice([0.0, 0.05, 0.05, 0.5]),
        min_t=rng.choice([0.0, 1.5, 3.0, 3.0, 10.0]),
    )


def polls(seed: int, steps: int) -> Iterator[tuple[Policy, Sample]]:
    """Random polls of one group, in runs of one kind: a random walk, a batch consumer's
    saw-tooth, an exact line (ties with the bars), a consumer that reads nothing while the
    lag comes and goes, or the same poll again."""
    rng = random.Random(seed)
    policy = random_policy(rng)
    at = EPOCH_MS + rng.randrange(10**9)
    read: int | None = rng.randrange(10**6)
    lag: int | None = rng.randrange(1000)
    id_ms, id_seq = at - 5000, 0
    active = 1
    kind, left, interval, slope, base, step_read = "walk", 0, 1000, 0, 0, 0
    for step in range(steps):
        if rng.random() < 0.004:
            policy = random_policy(rng)
        if left == 0:
            kind = rng.choice(["walk", "walk", "saw", "line", "stuck", "still", "still"])
            left = rng.choice([3, 10, 40, 120, 400])
            interval = rng.choice([0, 500, 1000, 1000, 2000])  # 0: irregular
            slope, base = rng.choice([-10, 0, 1, 5, 25, 100]), rng.choice([0, 10, 50, 500])
            step_read = rng.choice([0, 5, 25, 100])
        left -= 1
        at += interval or rng.randint(500, 3000)
        if kind == "still":
            pass  # the same poll again (but its time)
        elif kind == "line":
            lag = max(0, base + slope * step)
            read = None if read is None else read + step_read
        elif kind == "stuck":  # nothing read; the lag comes and goes
            lag = max(0, (lag or 0) + rng.randint(-5, 20))
            lag = rng.choice([lag] * 8 + [0, None])
        else:
            previous = lag or 0
            if kind == "saw":
                lag = previous + 50 - (100 if step % 4 == 3 else 0)
            else:
                lag = previous + rng.randint(-30, 60)
            lag = max(0, lag)
            read = (read or 0) + rng.randint(0, 60)
            if rng.random() < 0.04:
                lag = 0
            if rng.random() < 0.03:
                lag = None
            if rng.random() < 0.02:
                read = None
            elif read is not None and rng.random() < 0.01:
                read -= rng.randint(1, 500)  # a rewind
            if rng.random() < 0.03:
                active = rng.choice([0, 1, 2])
            id_seq += 1
            if rng.random() < 0.01:
                id_ms -= rng.randint(1, 10_000)  # the group was set back
            else:
                id_ms += rng.randint(0, 2000)
        if kind != "still" and rng.random() < 0.01:
            last_id = rng.choice(["", "abc", f"{id_ms}", f"{id_ms}-x"])  # no entry id
        else:
            last_id = f"{id_ms}-{id_seq}"
        yield policy, Sample(at, read, lag, last_id, active)


def drive(seed: int, steps: int) -> tuple[int, int]:
    """Feed both trackers; returns (observes, advances)."""
    rng = random.Random(-seed)
    stream = list(polls(seed, steps))
    new, ref = GroupTrend(stream[0][0]), RefitTrend(stream[0][0])
    observed = advanced = 0
    for policy, sample in stream:
        new.policy = ref.policy = policy
        holds = ref.holds(sample)
        assert new.holds(sample) == holds, sample
        if holds and rng.random() < 0.3:  # the monitor's unchanged queue: no verdict wanted
            new.advance(sample)
            ref.advance(sample)
            advanced += 1
            assert list(new.window) == list(ref.window)
            continue
        got = new.observe(sample)
        assert_same(new, ref, got, ref.observe(sample))
        observed += 1
        if observed % 37 == 0:
            # the running sums' line is the exact one, correctly rounded (observe may have
            # taken fit()'s on a bar, or the steady path's: ask the sums themselves)
            line, exact = new._fit(), exact_fit(list(new.window))
            assert (line is None) == (exact is None)
            if line is not None and exact is not None:
                slope, variance, fitted = exact
                assert math.isclose(line.slope, slope, rel_tol=4e-16, abs_tol=1e-300)
                assert math.isclose(line.stderr**2, variance, rel_tol=1e-15, abs_tol=1e-300)
                assert math.isclose(line.fitted_lag, fitted, rel_tol=4e-16, abs_tol=1e-300)
    return observed, advanced


@pytest.mark.parametrize("seed", range(24))
def test_running_sums_judge_every_poll_as_a_refit_of_the_window(seed: int) -> None:
    observed, advanced = drive(seed, 1500)
    assert observed > 500


def test_the_random_polls_reach_every_state_the_steady_path_and_full_windows() -> None:
    """The equivalence above means something: the polls cover what it must agree on."""
    states: set[str] = set()
    advanced = longest = 0
    for seed in range(24):
        stream = list(polls(seed, 1500))
        tracker = GroupTrend(stream[0][0])
        for policy, sample in stream:
            tracker.policy = policy
            advanced += tracker.holds(sample)
            states.add(tracker.observe(sample).state)
            longest = max(longest, len(tracker.window))
    assert states == {"OK", "WARN", "STALL", "STOP", "REWIND"}
    assert advanced > 1000
    assert longest == MAX_SAMPLES


@pytest.mark.parametrize("bar", ["growth", "share of reads"])
def test_a_line_landing_on_a_bar_is_judged_as_fit_rounds_it(bar: str) -> None:
    """Exact lines whose climb over the window is exactly ``min_growth`` (or exactly
    ``min_share`` of the reads): fit() rounds epoch seconds and puts many of them a hair
    under the bar, where the exact sums put them on it. The tracker must judge as fit() did;
    the bar cases are real (the sums' own line would be judged otherwise)."""
    otherwise = 0
    for offset in range(30):
        for interval in (500, 1000, 2000):
            for climb in (1, 5, 10):  # per second; 10 s windows climb 10 × that
                if bar == "growth":
                    policy = Policy(window_s=10, hold_s=0, min_growth=10 * climb)
                    read_per_s = None
                else:
                    policy = Policy(window_s=10, hold_s=0, min_growth=1, min_share=0.25)
                    read_per_s = 4 * climb
                new, ref = GroupTrend(policy), RefitTrend(policy)
                for i in range(10_000 // interval + 6):  # a full window, then sliding
                    sample = Sample(
                        EPOCH_MS + 7919 * offset + interval * i,
                        None if read_per_s is None else read_per_s * interval * i // 1000,
                        1000 + climb * interval * i // 1000,
                        "",
                        1,
                    )
                    assert_same(new, ref, new.observe(sample), ref.observe(sample))
                    line, reference = new._fit(), trend.fit(list(new.window))
                    if line is not None and reference is not None:
                        otherwise += growing(line, policy) != growing(reference, policy)
    assert otherwise > 100


def drive_settled(seed: int, steps: int) -> int:
    """Feed a tracker that takes settled samples without their line (the monitor's still
    queues) and the reference; returns how many samples went that way."""
    rng = random.Random(seed + 1000)
    stream = list(polls(seed, steps))
    new, ref = GroupTrend(stream[0][0]), RefitTrend(stream[0][0])
    settled = 0
    for policy, sample in stream:
        new.policy = ref.policy = policy
        want = ref.observe(sample)
        state = new.observe_settled(sample) if rng.random() < 0.7 else None
        if state is None:
            assert_same(new, ref, new.observe(sample), want)
            continue
        settled += 1
        assert state == want.state, sample
        assert_same_fit(new.line(), want.fit, list(ref.window))  # the line, when wanted
        assert (new.warn, new.flip_since_ms) == (ref.warn, ref.flip_since_ms)
        assert list(new.window) == list(ref.window)
    return settled


@pytest.mark.parametrize("seed", range(12))
def test_a_settled_sample_is_judged_without_its_line_as_a_refit_would(seed: int) -> None:
    """Issue #20: a still group's settled sample (no lag, or no active consumer) gets the
    state observe would give without fitting; the tracker then goes on judging every poll
    as the reference does."""
    assert drive_settled(seed, 1500) > 50
