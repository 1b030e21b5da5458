"""Time to breach and time to drain, from the monitor's rates, on the API and the pages."""

from __future__ import annotations

import re

import pytest

from dashboard.catalog.models import QueueDefinition, Threshold
from dashboard.monitor.engine import Monitor
from dashboard.monitor.forecast import forecast
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import reset_managers
from dashboard.monitor.trend import Fit, Sample, fit
from tests.support.queue_data import create_group, publish, read
from tests.support.redis_process import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    reset_managers()
    yield
    reset_managers()


def test_a_filling_queue_forecasts_its_breach_and_a_caught_up_one_shows_drained(
    client, django_user_model, redis_url, queue_name
):
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-tests-1"))
    queue = QueueDefinition.objects.create(name="orders", queue=queue_name)
    Threshold.objects.create(queue=queue, lag_warn=500, lag_alert=1000)
    publish(redis_url, queue_name, [{"n": i} for i in range(10)])
    create_group(redis_url, queue_name, "billing")
    read(redis_url, queue_name, "billing", "worker-1", 1)
    monitor = Monitor(lease=Lease(ttl=5), name="solo")
    monitor.cycle()

    def climb() -> bool:  # in, nothing out, until the regression is steady enough to forecast
        publish(redis_url, queue_name, [{"n": i} for i in range(20)])
        monitor.cycle()
        return monitor.latest["orders"].groups[0].breach_seconds is not None

    wait_for(climb, timeout=15, interval=0.05, message="a breach forecast")
    snap = monitor.latest["orders"]
    (group,) = snap.groups
    assert group.lag is not None and 9 < group.lag < 1000 and snap.rate_in and snap.rate_in > 0
    assert group.breach_seconds is not None and group.breach_seconds > 0
    assert group.forecast_spread is not None and group.forecast_spread <= 0.5
    assert snap.breach_seconds == group.breach_seconds
    assert group.drain_seconds is None and snap.drain_seconds is None  # not at these rates

    # The overview and the API show the forecasts the monitor made.
    row = client.get("/api/queues/").json()["queues"][0]["snapshot"]
    assert row["breach_seconds"] == pytest.approx(snap.breach_seconds, rel=0.2)
    page = client.get("/").content.decode()
    shown = re.search(r'data-field="breach_seconds" data-seconds="([0-9.]+)"', page)
    assert shown and float(shown.group(1)) > 0

    read(redis_url, queue_name, "billing", "worker-1", 100_000)  # caught up
    monitor.cycle()
    assert monitor.latest["orders"].drain_seconds == 0.0
    detail = client.get("/api/queues/orders/").json()["snapshot"]
    assert detail["drain_seconds"] == 0.0 and detail["groups"][0]["drain_seconds"] == 0.0
    assert 'id="queue-drain"' in client.get("/queues/orders/").content.decode()


# --- the forecasts themselves, on synthetic lag series ----------------------------------


def _line(points: list[tuple[float, int, int]]) -> Fit:
    """The regression over the last 60 s of (t seconds, entries read, lag) points."""
    last = points[-1][0]
    window = [Sample(int(t * 1000), read, lag, "", 1) for t, read, lag in points if t >= last - 60]
    line = fit(window)
    assert line is not None
    return line


def test_a_steady_saw_tooth_climb_forecasts_the_breach_within_30_percent():
    from tests.dashboard.test_trend import sawtooth

    limit = 6_000
    points = sawtooth(400, rate_in=50, batch=100, every_s=4)  # lag +25/s in a saw-tooth
    breached_at = next(t for t, _, lag in points if lag >= limit)
    for now in (60, 90, 120, 150):
        upto = [p for p in points if p[0] <= now]
        outlook = forecast(lag=upto[-1][2], limit=limit, line=_line(upto), noise=50)
        assert outlook.breach_seconds is not None and not outlook.unstable
        real = breached_at - now
        assert abs(outlook.breach_seconds - real) <= 0.3 * real, (now, outlook, real)
        assert outlook.drain_seconds is None  # a climbing lag does not drain
        assert outlook.spread is not None and outlook.spread < 0.3


def test_a_shrinking_lag_far_below_the_threshold_never_forecasts_a_breach():
    points = [(t, 100 * t, 3_000 - 20 * t) for t in range(61)]
    outlook = forecast(lag=points[-1][2], limit=100_000, line=_line(points), noise=50)
    assert outlook.breach_seconds is None
    assert outlook.drain_seconds == pytest.approx(1_800 / 20, rel=0.05)


def test_equal_rates_and_a_lag_of_a_few_messages_forecast_nothing():
    # In and out at the same rate: the lag wiggles around 500 and goes nowhere.
    flat = [(t, 50 * t, 500 + (t % 4) * 10) for t in range(61)]
    outlook = forecast(lag=flat[-1][2], limit=1_000, line=_line(flat), noise=50)
    assert (outlook.drain_seconds, outlook.breach_seconds) == (None, None)
    # A lag of 1..3 that creeps up: no "breach in 2 days".
    tiny = [(t, 50 * t, 1 + t // 30) for t in range(61)]
    outlook = forecast(lag=tiny[-1][2], limit=10_000, line=_line(tiny), noise=50)
    assert outlook.breach_seconds is None


def test_rates_that_swing_withhold_the_forecast_as_unstable():
    # A lag that lurches up and down by thousands while drifting up: no number to trust.
    swing = [(t, 50 * t, 5_000 + 10 * t + (4_000 if (t // 5) % 2 else -4_000)) for t in range(61)]
    outlook = forecast(lag=swing[-1][2], limit=100_000, line=_line(swing), noise=50)
    assert outlook.unstable
    assert (outlook.drain_seconds, outlook.breach_seconds) == (None, None)


def test_over_the_threshold_is_a_breach_now_and_an_empty_group_is_drained():
    points = [(t, 50 * t, 2_000 - 10 * t) for t in range(61)]
    outlook = forecast(lag=points[-1][2], limit=1_000, line=_line(points), noise=50)
    assert outlook.breach_seconds == 0.0 and outlook.drain_seconds is not None
    assert forecast(lag=0, limit=1_000, line=None, noise=50).drain_seconds == 0.0
