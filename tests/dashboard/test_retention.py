"""Snapshot retention with a compressed clock: the table stays bounded."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.models import MetricSnapshot
from dashboard.monitor.retention import apply_retention

pytestmark = pytest.mark.django_db


def test_raw_rows_roll_up_into_minutes_and_old_rows_go(settings):
    settings.STREAMWARDEN_RAW_RETENTION = 3600
    settings.STREAMWARDEN_ROLLUP_RETENTION = 7 * 24 * 3600
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = start
    sizes = []
    # Nine simulated days, one raw row every 30 s per queue, retention every 30 minutes.
    step = timedelta(seconds=30)
    while clock < start + timedelta(days=9):
        batch = []
        end = clock + timedelta(minutes=30)
        while clock < end:
            batch += [
                MetricSnapshot(
                    queue=q,
                    at=clock,
                    length=i,
                    lag=i,
                    pending=1,
                    groups={'grüppe "1"': {"lag": i, "at": clock.second}},
                )
                for i, q in enumerate(("a", "b"))
            ]
            clock += step
        MetricSnapshot.objects.bulk_create(batch)
        apply_retention(now=clock)
        sizes.append(MetricSnapshot.objects.count())
    raw = MetricSnapshot.objects.filter(resolution="raw")
    minutes = MetricSnapshot.objects.filter(resolution="1m")
    assert raw.earliest("at").at >= clock - timedelta(hours=1)
    assert minutes.earliest("at").at >= clock - timedelta(days=7)
    # Bounded: 1 h of raw (2 queues × 120) + 7 d of minutes (2 × 10 080), never more.
    bound = 2 * 120 + 2 * 7 * 24 * 60 + 2 * 60
    assert max(sizes) <= bound
    assert sizes[-1] == pytest.approx(sizes[-10], rel=0.01)  # steady state
    point = minutes.filter(queue="b").latest("at")
    assert (point.lag, point.pending) == (1, 1)
    # a minute keeps its last row's groups (read as text, parsed once: issue #20)
    assert point.groups == {'grüppe "1"': {"lag": 1, "at": 30}}


def test_a_24h_chart_has_one_resolution_the_newest_minutes_rolled_up_not_raw_beside_them():
    from dashboard.monitor.retention import rollup
    from dashboard.selectors import queue_history

    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    # Raw rows every 10 s for 10 minutes: the lag climbs to 6 932 within each minute and
    # reads 5 254 at its first sample (what showed as a false drop beside the minute points).
    MetricSnapshot.objects.bulk_create(
        [
            MetricSnapshot(
                queue="a",
                at=start + timedelta(seconds=10 * i),
                length=1,
                pending=0,
                lag=5_254 if i % 6 == 0 else 6_932,
            )
            for i in range(60)
        ]
    )
    rollup(now=start + timedelta(minutes=7))  # minutes 0..6 rolled up, 7..9 still raw
    now = start + timedelta(minutes=9, seconds=55)
    points = queue_history(name="a", range_key="24h", now=now)["points"]
    times = [p["t"] for p in points]
    assert times == sorted(set(times))  # increasing, no two points at one time
    assert all(t % 60_000 == 0 for t in times)  # every point a minute, none a 10 s sample
    assert len(points) == 10
    assert {p["lag"] for p in points} == {6_932}  # the minute's worst, like stored rollups


@pytest.mark.django_db(transaction=True)
def test_the_monitor_rolls_up_a_slice_of_its_queues_per_cycle_and_prunes_in_bounded_steps(
    settings, redis_url, queue_name, monkeypatch
):
    """All at once, a minute of 10 000 queues cost ~0.7 s of one cycle every minute (a 2.5 s
    period among 1.7 s ones). Each cycle now rolls up one slice of the queues, and deletes at
    most PRUNE_LIMIT old rows of each resolution, only once every slice has been rolled up
    (so rows of a monitor back after a long stop are rolled up before they go)."""
    from django.utils import timezone

    from dashboard.catalog.models import QueueDefinition
    from dashboard.monitor import engine
    from dashboard.monitor.engine import RETENTION_SLOTS, Monitor
    from dashboard.monitor.library import reset_managers

    settings.REDIS_URL = redis_url
    monkeypatch.setattr(engine, "PRUNE_LIMIT", 7)
    reset_managers()
    # 30 queues or more, one of them in the first cycle's slice (30 random names leave it
    # empty one time in 24)
    names: list[str] = []
    while len(names) < 30 or all(zlib.crc32(n.encode()) % RETENTION_SLOTS for n in names):
        names.append(f"{queue_name}-{len(names)}")
    QueueDefinition.objects.bulk_create([QueueDefinition(name=n, queue=n) for n in names])
    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=2)
    MetricSnapshot.objects.bulk_create(
        [
            MetricSnapshot(queue=n, at=minute + timedelta(seconds=s), lag=s)
            for n in names
            for s in (5, 35)
        ]
        + [MetricSnapshot(queue=n, at=minute - timedelta(hours=2)) for n in names[:10]]
    )
    minutes = MetricSnapshot.objects.filter(resolution="1m", at=minute)
    old = MetricSnapshot.objects.filter(resolution="raw", at__lt=minute - timedelta(hours=1))
    monitor = Monitor()
    try:
        monitor.cycle()
        rolled = set(minutes.values_list("queue", flat=True))
        assert 0 < len(rolled) < len(names)  # one slice, not every queue
        assert old.count() == 10  # not before every slice is rolled up
        for _ in range(RETENTION_SLOTS - 1):
            monitor.cycle()
        assert set(minutes.values_list("queue", flat=True)) == set(names)
        assert minutes.get(queue=names[0]).lag == 35
        assert old.count() == 3  # the first bounded step: 7 of the 10 oldest
        monitor.cycle()
        assert old.count() == 0
        assert minutes.count() == len(names)  # each minute rolled up once
    finally:
        monitor.shutdown()
        reset_managers()
