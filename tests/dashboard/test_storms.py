"""Claim storms and poison suspects: the detector, and the monitor on real library claims."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from dashboard import selectors
from dashboard.catalog.models import QueueDefinition
from dashboard.models import ClaimStorm, QueueState
from dashboard.monitor.engine import Monitor
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import reset_managers
from dashboard.monitor.storms import Claim, StormDetector
from queues import events
from queues.claims import ClaimScan
from queues.keys import queue_keys
from queues.scripts import Scripts
from tests.support.queue_data import create_group, publish, read


def _claims(n: int, *, at_ms: int, message: str = "", step_ms: int = 100) -> list[Claim]:
    owners = ["w1", "w2"]
    return [
        Claim(
            at_ms=at_ms + i * step_ms,
            queue="orders",
            group="billing",
            message_id=message or f"{i}-0",
            previous_owner=owners[i % 2],
            new_owner=owners[(i + 1) % 2],
            deliveries=i + 2,
        )
        for i in range(n)
    ]


def test_a_storm_starts_at_the_limit_holds_above_half_of_it_and_then_ends():
    detector = StormDetector(window_s=10, storm_claims=10)
    detector.add(_claims(9, at_ms=0))
    assert detector.stats(1_000)[("orders", "billing")].storm is False
    detector.add(_claims(1, at_ms=1_000))
    started = detector.stats(1_100)[("orders", "billing")]
    assert started.storm and started.claims == 10 and started.storm_since_ms == 0
    assert started.rate_per_min == 60.0

    # Claims age out of the window: still a storm with 5 left (half the limit) ...
    detector.add(_claims(5, at_ms=9_000))
    assert detector.stats(10_950)[("orders", "billing")].storm
    # ... and over below that, reported once more as not storming, then forgotten.
    ended = detector.stats(19_500)[("orders", "billing")]
    assert (ended.storm, ended.claims) == (False, 0)
    assert detector.stats(19_600) == {}


def test_a_message_claimed_again_and_again_is_reported_as_bouncing_with_its_owners():
    detector = StormDetector(window_s=60, storm_claims=100)
    detector.add(_claims(4, at_ms=0, message="7-0") + _claims(1, at_ms=0, message="8-0"))
    stats = detector.stats(1_000)[("orders", "billing")]
    (bounce,) = stats.bouncing
    assert (bounce.message_id, bounce.claims, bounce.deliveries) == ("7-0", 4, 5)
    assert bounce.owners == ("w1", "w2", "w1", "w2", "w1")
    assert stats.messages == 2


# --- the monitor, on claims the library itself makes ----------------------------------


def bounce(url: str, queue: str, group: str, owners: list[str], rounds: int) -> None:
    """Run the library's claim step as each owner in turn (no idle minimum), so every
    pending entry is taken over ``rounds`` times, each claim writing its library event."""
    client = redis.Redis.from_url(url)
    scripts = Scripts(client)
    keys = queue_keys(queue)
    for i in range(rounds):
        scan = ClaimScan(claim_idle_ms=0, interval=0)
        scripts.claim(
            keys=scan.keys(keys),
            args=scan.args(group, owners[i % len(owners)], 1000, queue, events.MAX_EVENTS),
        )
    client.close()


@pytest.fixture
def storm_settings(settings) -> Iterator[None]:
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    settings.STREAMWARDEN_STORM_CLAIMS = 10
    settings.STREAMWARDEN_STORM_WINDOW = 60
    settings.STREAMWARDEN_POISON_DELIVERIES = 3
    reset_managers()
    yield
    reset_managers()


@pytest.mark.django_db(transaction=True)
def test_the_monitor_turns_a_burst_of_claims_into_one_storm_incident_with_its_poison_messages(
    storm_settings, redis_url, queue_name
):
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    publish(redis_url, queue_name, [{"n": i} for i in range(6)])
    create_group(redis_url, queue_name, "billing")
    read(redis_url, queue_name, "billing", "w0", 3)  # three entries stuck with w0
    monitor = Monitor(lease=Lease(ttl=5), name="solo")
    monitor.cycle()

    bounce(redis_url, queue_name, "billing", ["w1", "w2"], rounds=4)  # 12 claims
    monitor.cycle()  # ingests the claimed events as alert rows
    monitor.cycle()  # the detector sees them
    bounce(redis_url, queue_name, "billing", ["w1", "w2"], rounds=2)  # the storm goes on
    monitor.cycle()
    monitor.cycle()

    (storm,) = ClaimStorm.objects.all()  # one incident, however many claims
    from alerts.models import Alert

    (storm_alert,) = Alert.objects.filter(kind="claim_storm")  # and one alert for it
    assert (storm_alert.queue, storm_alert.group, storm_alert.state) == (
        "orders",
        "billing",
        "open",
    )
    assert Alert.objects.filter(kind="claimed").count() == 18  # every claim still a row
    assert (storm.queue, storm.group, storm.active) == ("orders", "billing", True)
    assert storm.claims == 18 and storm.messages == 3
    group = monitor.latest["orders"].groups[0]
    assert group.storm and group.claims == 18 and group.claim_rate == 18.0
    assert {b.message_id for b in group.bouncing} == {b["message_id"] for b in storm.bouncing}
    assert all(b.claims == 6 and b.deliveries == 7 for b in group.bouncing)
    assert len(group.bouncing) == 3

    state = QueueState.objects.get(queue="orders").data
    assert state["storm"] is True and state["groups"][0]["claims"] == 18

    detail = selectors.queue_detail(definition=QueueDefinition.objects.get(name="orders"))
    claims = detail["claims"]
    assert claims["storm"] and claims["incidents"][0]["id"] == storm.pk
    (billing,) = claims["groups"]
    assert billing["storm"] and len(billing["bouncing"]) == 3
    assert [e["deliveries"] for e in billing["top_deliveries"]] == [7, 7, 7]
    assert len(billing["poison_suspects"]) == 3

    # Calm returns (the window is shortened rather than waited out): the incident closes.
    monitor.storms.window_ms = 1
    monitor.cycle()
    storm.refresh_from_db()
    assert storm.ended_at is not None
    assert not monitor.latest["orders"].storm
    assert ClaimStorm.objects.count() == 1
    storm_alert.refresh_from_db()
    assert storm_alert.state == "resolved"
    assert Alert.objects.filter(kind="claim_storm").count() == 1
