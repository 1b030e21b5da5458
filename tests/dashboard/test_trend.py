"""Trend status without thresholds (Burrow-style) and the rate forecasts."""

from __future__ import annotations

from dashboard.monitor.rates import rate, time_to_breach, time_to_drain
from dashboard.monitor.trend import Sample, classify


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


def test_lag_that_never_shrinks_while_reading_is_warn():
    assert classify(window([(0, 100), (10, 150), (20, 150), (30, 200)])) == "WARN"


def test_lag_with_nothing_read_is_stall():
    assert classify(window([(5, 100), (5, 100), (5, 120)])) == "STALL"


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
