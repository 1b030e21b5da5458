"""The monitor: polling through the library, classification, storage, the lease, outages."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from dashboard import selectors
from dashboard.catalog.models import QueueDefinition, Threshold
from dashboard.models import MetricSnapshot, MonitorState
from dashboard.monitor.engine import Monitor
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import manager_for, reset_managers
from dashboard.monitor.poller import Target, poll
from dashboard.monitor.scheduler import build_scheduler
from dashboard.sealed_layer import layer_settings
from tests.support.queue_data import create_group, publish, read
from tests.support.redis_process import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_managers(settings) -> Iterator[None]:
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    settings.STREAMWARDEN_ACTIVE_IDLE = 5
    reset_managers()
    yield
    reset_managers()


def test_poll_reads_length_lag_pending_and_consumers_and_counts_its_cost(redis_url, queue_name):
    publish(redis_url, queue_name, [{"n": i} for i in range(10)])
    create_group(redis_url, queue_name, "billing")
    read(redis_url, queue_name, "billing", "worker-1", 4)

    result = poll([Target("orders", queue_name, redis_url)], manager_for=manager_for)

    (snap,) = result.snapshots
    assert snap.exists and snap.length == 10
    (group,) = snap.groups
    assert (group.name, group.lag, group.pending, group.consumers) == ("billing", 6, 4, 1)
    assert group.active_consumers == 1
    assert group.oldest_pending_ms is not None and group.oldest_undelivered_ms is not None
    assert result.cost.commands > 0 and result.cost.ms > 0
    assert result.unreachable == {}


def test_a_missing_stream_is_reported_as_not_existing(redis_url):
    result = poll([Target("ghost", "ghost", redis_url)], manager_for=manager_for)
    assert result.snapshots[0].exists is False


def test_cycle_stores_snapshots_classifies_and_records_its_state(redis_url, queue_name):
    queue = QueueDefinition.objects.create(name="orders", queue=queue_name)
    Threshold.objects.create(queue=queue, lag_warn=5, lag_alert=100)
    publish(redis_url, queue_name, [{"n": i} for i in range(10)])
    create_group(redis_url, queue_name, "billing")
    read(redis_url, queue_name, "billing", "worker-1", 1)

    monitor = Monitor(lease=Lease(ttl=5))
    monitor.cycle()

    snap = monitor.latest["orders"]
    assert snap.status == "warn" and snap.checks["lag"] == "warn"
    row = MetricSnapshot.objects.get(queue="orders")
    assert (row.length, row.lag, row.pending, row.status) == (10, 9, 1, "warn")
    state = MonitorState.objects.get()
    assert state.redis_ok and state.poll_commands > 0 and state.queues == 1


def test_of_two_monitors_exactly_one_polls_and_the_other_takes_over_when_it_dies(
    redis_url, queue_name
):
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    publish(redis_url, queue_name, [{"n": 1}])
    first = Monitor(lease=Lease(ttl=1.0), name="first")
    second = Monitor(lease=Lease(ttl=1.0), name="second")
    for _ in range(3):
        first.cycle()
        second.cycle()
    assert (first.polled_cycles, second.polled_cycles) == (3, 0)

    # "Kill" the first: it stops renewing and never releases. Within the lease time the
    # second one must be polling.
    def second_polls() -> bool:
        second.cycle()
        return second.polled_cycles > 0

    wait_for(second_polls, timeout=1.0 + 0.5, interval=0.1, message="standby took over")
    first.cycle()
    assert first.polled_cycles == 3  # the old holder now stands by


def test_a_stopped_monitor_releases_its_lease_at_once(redis_url):
    first = Monitor(lease=Lease(ttl=30), name="first")
    second = Monitor(lease=Lease(ttl=30), name="second")
    first.cycle()
    first.shutdown()
    second.cycle()
    assert second.lease.held


@pytest.mark.chaos
def test_monitor_survives_redis_killed_for_10_seconds_and_resumes(
    settings, private_redis, queue_name
):
    settings.REDIS_URL = private_redis.url
    settings.CHANNEL_LAYERS = layer_settings(
        private_redis.url, settings.SECRET_KEY, prefix="sw-test"
    )
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    publish(private_redis.url, queue_name, [{"n": 1}])
    monitor = Monitor(lease=Lease(ttl=2), name="solo")
    scheduler = build_scheduler(monitor, interval=0.5)
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    try:
        wait_for(lambda: monitor.polled_cycles >= 1, timeout=10, message="first poll")
        private_redis.kill()
        outage = wait_for(lambda: MonitorState.objects.filter(redis_ok=False).first(), timeout=10)
        assert outage.redis_down_since is not None and outage.redis_error
        shown = selectors.monitor_state()  # what GET /api/monitor/ and the page banner show
        assert shown["redis_ok"] is False and shown["redis_down_since"]
        cycles_before = monitor.cycles
        wait_for(lambda: monitor.cycles >= cycles_before + 8, timeout=15, message="keeps ticking")
        assert thread.is_alive()
        polled_before = monitor.polled_cycles
        private_redis.start()
        wait_for(lambda: monitor.polled_cycles > polled_before, timeout=10, message="resumes")
        wait_for(lambda: MonitorState.objects.get().redis_ok, timeout=10, message="recovery shown")
    finally:
        scheduler.shutdown(wait=False)
        thread.join(10)
        monitor.shutdown()


def _client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)


def test_a_monitor_that_loses_its_lease_mid_cycle_writes_nothing_more(redis_url, queue_name):
    """A cycle longer than the lease (an incident at 10 000 queues): a standby took over
    meanwhile, so the old holder stops before it stores or alerts alongside the new one."""
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    publish(redis_url, queue_name, [{"n": 1}])
    standby = Monitor(lease=Lease(ttl=30), name="standby")

    class Slow(Monitor):
        def _render(self, snapshots):  # between the poll and the writes
            wait_for(standby_takes_over, timeout=5, interval=0.02, message="takeover")
            return super()._render(snapshots)

    def standby_takes_over() -> bool:
        return standby.lease.acquire_or_renew()

    slow = Slow(lease=Lease(ttl=0.2), name="slow")
    slow.cycle()

    assert slow.polled_cycles == 1 and not slow.lease.held
    assert not MetricSnapshot.objects.exists() and not MonitorState.objects.exists()
    standby.cycle()
    assert MetricSnapshot.objects.count() == 1
    assert MonitorState.objects.get().holder == "standby"


def test_a_cycle_leaves_nothing_in_reference_cycles_with_the_processs_own_loop(
    redis_url: str, queue_name: str
) -> None:
    """The monitor's process freezes what a cycle leaves and collects in full only when its
    memory grows: so a cycle must leave no garbage in reference cycles. Its live pushes,
    sent from a new event loop each, opened new Redis connections every cycle and left ~250
    objects in cycles (tracebacks of their handshake probes, connection pools)."""
    import gc

    from dashboard import live

    for n in range(5):
        publish(redis_url, f"{queue_name}-{n}", [{"n": 1}, {"n": 2}])
        create_group(redis_url, f"{queue_name}-{n}", "g")
        QueueDefinition.objects.create(name=f"q{n}", queue=f"{queue_name}-{n}")
    live.own_loop()
    monitor = Monitor()
    try:
        for _ in range(3):  # warm: connections, caches, the first full reads
            monitor.cycle()
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for _ in range(3):
                monitor.cycle()
            gc.collect()
            left = [type(o).__qualname__ for o in gc.garbage]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
        assert left == []
    finally:
        monitor.shutdown()
        live.close_own_loop()


def test_the_monitor_process_keeps_the_collector_out_of_its_cycles(
    redis_url: str, queue_name: str
) -> None:
    """In its own process the monitor turns the garbage collector off for a cycle (its full
    collections over a million live objects were half of a 10 000-queue cycle), freezes what
    outlives it and turns the collector back on between cycles, even after a failed cycle."""
    import gc

    from dashboard.monitor import signals

    publish(redis_url, queue_name, [{"n": 1}])
    create_group(redis_url, queue_name, "g")
    QueueDefinition.objects.create(name="q", queue=queue_name)
    during: list[bool] = []

    def seen(**kwargs: object) -> None:
        during.append(gc.isenabled())

    signals.cycle_recorded.connect(seen, dispatch_uid="test-gc")
    monitor = Monitor()
    monitor.freeze_gc = True
    try:
        monitor.cycle()
        assert during == [False]  # off while the cycle ran
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0

        def broken() -> None:
            raise RuntimeError("a cycle that fails")

        monitor._cycle = broken  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            monitor.cycle()
        assert gc.isenabled()  # on again after a failed cycle
    finally:
        signals.cycle_recorded.disconnect(dispatch_uid="test-gc")
        gc.unfreeze()
        gc.enable()
        monitor.shutdown()
