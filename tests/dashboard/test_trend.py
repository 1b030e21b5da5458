"""Trend status without thresholds (Burrow-style) and the rate forecasts."""

from __future__ import annotations

from dashboard.monitor.rates import rate, time_to_breach, time_to_drain
from dashboard.monitor.trend import GroupTrend, Policy, Sample, classify, fit


def window(points, active=1, ids=None):
    return [
        Sample(
            at_ms=i * 1000,
            entries_read=read,
            lag=lag,
            last_delivered_id=(ids or {}).get(i, ""),
            active_consumers=active,
        )
        for i, (read, lag) in enumerate(points)
    ]


def test_zero_lag_is_ok():
    assert classify(window([(0, 0), (10, 0), (20, 0)])) == "OK"


def test_lag_that_shrinks_while_reading_is_ok():
    assert classify(window([(0, 100), (50, 60), (100, 10)])) == "OK"


def test_lag_that_climbs_well_past_the_noise_floor_while_reading_is_warn():
    policy = Policy(window_s=4, min_growth=50)
    assert classify(window([(0, 100), (10, 150), (20, 150), (30, 200)]), policy) == "WARN"


def test_lag_with_nothing_read_is_stall():
    assert classify(window([(5, 100), (5, 100), (5, 120)]), Policy(window_s=4)) == "STALL"
    # Within half a window, nothing read is how a batch consumer looks between batches.
    assert classify(window([(5, 100), (5, 100), (5, 120)]), Policy(window_s=60)) == "OK"


def test_lag_without_active_consumers_is_stop():
    assert classify(window([(5, 100), (5, 100)], active=0)) == "STOP"


def test_entries_read_going_back_is_rewind():
    assert classify(window([(50, 0), (60, 0), (10, 50)])) == "REWIND"


def test_last_delivered_id_going_back_is_rewind():
    ids = {0: "200-0", 1: "100-0"}
    assert classify(window([(None, 0), (None, 0)], ids=ids)) == "REWIND"


def test_too_few_samples_with_lag_and_consumers_is_ok():
    assert classify(window([(0, 10)])) == "OK"
    assert classify([]) == "OK"


def test_rates_and_forecasts():
    assert rate((0, 0), (2000, 100)) == 50.0
    assert rate((0, None), (2000, 100)) is None
    assert time_to_drain(100, 10.0, 20.0) == 10.0
    assert time_to_drain(100, 20.0, 10.0) is None
    assert time_to_drain(0, None, None) == 0.0
    assert time_to_breach(100, 1000, 20.0, 10.0) == 90.0
    assert time_to_breach(100, 1000, 10.0, 20.0) is None


# --- growth judged by regression, with a noise floor, a hold and hysteresis ------------


def sawtooth(seconds: int, *, rate_in: float, batch: int, every_s: int, start_lag: int = 0):
    """A producer at ``rate_in``/s and a consumer that takes ``batch`` entries every
    ``every_s`` seconds, sampled each second: (t, entries read, lag)."""
    out, lag, read = [], start_lag, 0
    for t in range(seconds):
        lag += rate_in
        if t % every_s == every_s - 1:
            taken = min(batch, int(lag))
            lag -= taken
            read += taken
        out.append((t, read, int(lag)))
    return out


def run(tracker: GroupTrend, points, active=1):
    return [
        tracker.observe(Sample(t * 1000, read, lag, "", active)).state for t, read, lag in points
    ]


def test_a_saw_tooth_steady_climb_is_not_ok_once_a_window_has_passed_and_stays_so():
    # 50 msg/s in, batches of 100 every 4 s out (25 msg/s): the lag rises 25/s but drops
    # by 100 every 4 s, so it often shrinks between two samples ("never shrank" missed it).
    points = sawtooth(300, rate_in=50, batch=100, every_s=4)
    assert any(b[2] < a[2] for a, b in zip(points, points[1:], strict=False))
    states = run(GroupTrend(Policy(window_s=60, hold_s=20)), points)
    assert states[:30] == ["OK"] * 30  # half a window before judging
    first = states.index("WARN")
    assert first <= 60, f"WARN only after {first}s"
    assert set(states[first:]) == {"WARN"}


def test_the_evidence_is_the_regression_slope_over_the_window():
    points = sawtooth(120, rate_in=50, batch=100, every_s=4)
    tracker = GroupTrend(Policy(window_s=60))
    run(tracker, points)
    line = fit(list(tracker.window))
    assert line is not None and 59 <= line.span_s <= 60
    assert 20 <= line.slope <= 30  # the net growth, 25 msg/s
    assert line.read_rate is not None and 20 <= line.read_rate <= 30


def test_a_near_empty_group_wiggling_between_0_and_10_never_warns():
    import random

    rng = random.Random(16)
    tracker = GroupTrend(Policy(window_s=60, hold_s=20))
    read, states = 0, []
    for t in range(1800):
        # Monotone runs up to 10 (what tripped "never shrank"), then back near 0.
        lag = min(10, t % 13) if rng.random() < 0.7 else rng.randint(0, 10)
        read += 25
        states.append(tracker.observe(Sample(t * 1000, read, lag, "", 1)).state)
    assert set(states) == {"OK"}


def test_a_slow_drift_that_is_noise_next_to_the_consumption_rate_is_ok():
    # 1 000 msg/s read, the lag drifts 1/s on a base of 500: 60 over a window, 0.1 % of reads.
    tracker = GroupTrend(Policy(window_s=60, hold_s=0))
    states = [tracker.observe(Sample(t * 1000, t * 1000, 500 + t, "", 1)).state for t in range(180)]
    assert set(states) == {"OK"}


def test_growth_must_hold_before_warn_and_be_gone_as_long_before_ok():
    policy = Policy(window_s=10, hold_s=5, min_growth=20)
    tracker = GroupTrend(policy)
    lag, read, states = 100, 0, []
    for t in range(60):
        lag += 10 if t < 30 else -10  # climbs 10/s for 30 s, then shrinks
        read += 20
        states.append(tracker.observe(Sample(t * 1000, read, lag, "", 1)).state)
    first = states.index("WARN")
    assert 10 <= first <= 12  # judged from half a window (5 s), then held 5 s
    resolved = states.index("OK", first)
    assert set(states[first:resolved]) == {"WARN"}
    assert resolved >= 35  # the fit turns around, then the hold runs out
    assert set(states[resolved:]) == {"OK"}


def test_a_warn_closes_at_once_when_the_group_catches_up():
    tracker = GroupTrend(Policy(window_s=10, hold_s=2, min_growth=20))
    states = run(tracker, [(t, t * 10, 100 + 20 * t) for t in range(20)])
    assert states[-1] == "WARN"
    assert tracker.observe(Sample(20_000, 500, 0, "", 1)).state == "OK"


def test_stop_stall_and_rewind_are_reported_at_once_without_a_hold():
    tracker = GroupTrend(Policy(window_s=60, hold_s=30))
    assert tracker.observe(Sample(0, 5, 100, "", 0)).state == "STOP"


def test_a_steady_window_answers_without_a_refit_and_exactly_as_a_refit_would():
    """Long runs of alike samples (an idle or stopped group, polled every second) take
    the O(1) path; each verdict equals a tracker that refits its window every time."""
    import random

    class Refit(GroupTrend):
        def holds(self, sample: Sample) -> bool:
            return False

    rng = random.Random(7)
    policy = Policy(window_s=20, hold_s=5, min_growth=5)
    fast, slow = GroupTrend(policy), Refit(policy)
    lag, read, active, answered, t = 0, 0, 1, 0, 0
    for _ in range(60):  # stretches of alike samples, then a change
        for _ in range(rng.choice([1, 2, 5, 15, 40])):
            t += rng.choice([500, 1000, 1000, 3000])
            sample = Sample(t, read, lag, f"{read}-0", active)
            answered += fast.holds(sample)
            a, b = fast.observe(sample), slow.observe(sample)
            assert a.state == b.state, (t, sample)
            assert (a.fit is None) == (b.fit is None)
            if a.fit and b.fit:
                assert abs(a.fit.slope - b.fit.slope) < 1e-9 and a.fit.span_s == b.fit.span_s
        lag = max(0, lag + rng.choice([-20, 0, 8, 30, 60]))
        read += rng.choice([0, 0, 10])
        active = rng.choice([0, 1, 2])
    assert answered > 100  # the O(1) path was taken, and agreed every time
