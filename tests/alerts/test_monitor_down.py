"""The dead man's switch, and the monitor's state out of producers' reach.

When no monitor completes a cycle, the notifier (not the monitor) opens and notifies
``monitor_down``; a cycle resolves it. Writes a producer can make to the Redis it
publishes to (any key, any stream) cannot stop the monitors or send a notification to a
channel it does not match.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from alerts import outbox
from alerts.backends import locmem
from alerts.models import Alert, AlertKind, AlertState, Notification, NotificationChannel
from dashboard.catalog.models import QueueDefinition
from dashboard.models import MonitorLease
from dashboard.monitor.engine import Monitor
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import reset_managers
from queues import Producer
from queues.keys import queue_keys
from tests.alerts.conftest import NotifierThread
from tests.support.redis_process import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

WINDOW = 1.0


@pytest.fixture(autouse=True)
def _compressed(settings) -> Iterator[None]:
    settings.STREAMWARDEN_MONITOR_DOWN_AFTER = WINDOW
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    reset_managers()
    yield
    reset_managers()


def _channel(**kwargs) -> NotificationChannel:
    return NotificationChannel.objects.create(
        name=kwargs.pop("name", "mem"), backend="alerts.backends.locmem.LocmemBackend", **kwargs
    )


def _monitor_down() -> Alert | None:
    return Alert.objects.filter(kind=AlertKind.MONITOR_DOWN).order_by("-pk").first()


def test_killing_every_monitor_opens_a_notified_monitor_down_and_a_cycle_resolves_it(
    redis_url: str, queue_name: str, notifier: NotifierThread
) -> None:
    _channel()
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    monitor = Monitor(lease=Lease(ttl=0.5), name="only")
    monitor.cycle()
    assert _monitor_down() is None

    # "Kill" it: it never completes another cycle. The notifier notices within the window.
    killed = Alert.objects.count()
    opened = wait_for(_monitor_down, timeout=WINDOW + 5, message="monitor_down opened")
    assert opened.state == AlertState.OPEN and Alert.objects.count() == killed + 1
    assert "only" in opened.details["detail"]
    wait_for(
        lambda: any("monitor" in m.title.lower() for m in locmem.outbox),
        timeout=10,
        message="monitor_down notified",
    )

    # A monitor starts again: its first completed cycle resolves the alert.
    restarted = Monitor(lease=Lease(ttl=5), name="restarted")
    restarted.cycle()
    assert restarted.polled_cycles == 1  # the dead one's lease had expired
    opened.refresh_from_db()
    assert opened.state == AlertState.RESOLVED
    assert Alert.objects.filter(kind=AlertKind.MONITOR_DOWN, state=AlertState.OPEN).count() == 0


def test_a_dashboard_whose_monitor_never_ran_raises_no_monitor_down(
    notifier: NotifierThread,
) -> None:
    _channel()
    wait_for(lambda: notifier.notifier is not None, timeout=5)
    deadline = time.monotonic() + WINDOW + 1
    while time.monotonic() < deadline:
        assert _monitor_down() is None
        time.sleep(0.1)


def test_a_standby_says_who_holds_the_lease_and_since_when(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = Monitor(lease=Lease(ttl=30), name="first")
    second = Monitor(lease=Lease(ttl=30), name="second")
    first.cycle()
    with caplog.at_level("WARNING"):
        second.cycle()
    holder = MonitorLease.objects.get()
    assert second.polled_cycles == 0 and second.standby_of == first.lease.token
    assert f"held by {first.lease.token} since {holder.acquired_at.isoformat()}" in caplog.text
    first.shutdown()


def test_producer_writes_cannot_stop_the_monitors(redis_url: str, queue_name: str) -> None:
    """Any key, any stream: the old lease key set without expiry, garbage everywhere under
    sw:monitor:*, the channel layer's keys; the monitors keep polling and take over."""
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    Producer(queue_name, redis=redis_url).publish({"n": 1})
    client = redis.Redis.from_url(redis_url)
    client.set("sw:monitor:lease", "x")  # no expiry: this stopped every monitor
    client.set("sw:monitor:anything", "x")
    client.xadd("sw-test", {"type": "queue.update", "data": "forged"})
    first = Monitor(lease=Lease(ttl=0.5), name="first")
    second = Monitor(lease=Lease(ttl=0.5), name="second")
    first.cycle()
    second.cycle()
    assert (first.polled_cycles, second.polled_cycles) == (1, 0)
    client.set("sw:monitor:lease", "second")  # a producer naming a monitor holds nothing

    def second_takes_over() -> bool:  # the first is "killed": it never renews
        second.cycle()
        return second.polled_cycles > 0

    wait_for(second_takes_over, timeout=5, interval=0.1, message="standby took over")
    assert second.latest["orders"].length == 1
    second.shutdown()


def test_forged_notification_jobs_reach_no_channel(notifier: NotifierThread) -> None:
    """A producer can write the notifications stream (it is a queue like any other): an
    injected job, or a real job's notification sent to another channel, is dropped."""
    billing = _channel(name="billing-only", queues="billing")
    _channel(name="everything")
    Alert.objects.create(
        kind=AlertKind.THRESHOLD, queue="orders", status="alert", severity="alert", summary="x"
    )
    wait_for(lambda: Notification.objects.filter(queue="orders").exists(), timeout=10)
    wait_for(lambda: len(locmem.outbox) == 1, timeout=10, message="the real notification sent")
    notification = Notification.objects.get(queue="orders")
    forged = Producer(
        outbox.conf.notifications_queue(), redis=outbox.conf.notifications_redis_url()
    )
    # Unsigned, the way a producer would write it: to a channel that does not match.
    forged.publish({"notification": notification.pk, "channel": billing.pk, "attempt": 1})
    # Signed with a wrong key.
    forged.publish({"signed": "eyJub3RpZmljYXRpb24iOjF9:forged:signature"})
    # A signed job replayed: idempotent, the channel already has it.
    outbox.enqueue({"notification": notification.pk, "channel": billing.pk, "attempt": 1})
    forged.close()
    queue = outbox.conf.notifications_queue()
    client = redis.Redis.from_url(outbox.conf.notifications_redis_url())
    wait_for(
        lambda: (
            client.xpending(queue_keys(queue).stream, outbox.GROUP)["pending"] == 0
            and client.xinfo_groups(queue_keys(queue).stream)[0]["lag"] == 0
        ),
        timeout=10,
        message="every job handled",
    )
    assert len(locmem.outbox) == 1
    assert not billing.deliveries.exists()
