"""Claims by foreign consumers of plain streams, inferred from pending lists between
polls: XCLAIM / XAUTOCLAIM by redis-cli become `claimed` alerts like library claims,
marked inferred; redeliveries are counted apart; nothing is counted twice."""

from __future__ import annotations

import pytest
import redis

from alerts.services import record_inferred_claims
from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.engine import Monitor
from dashboard.monitor.inferred import InferredClaim, compare
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import reset_managers
from queues.types import PendingEntry
from tests.support.redis_cli import redis_cli

pytestmark = pytest.mark.django_db(transaction=True)


def entry(entry_id: str, owner: str, deliveries: int) -> PendingEntry:
    return PendingEntry(entry_id, owner, 0, deliveries)


def test_owner_change_with_a_new_delivery_is_a_claim_same_owner_is_a_redelivery() -> None:
    previous = {"1-0": ("a", 1), "2-0": ("a", 1), "3-0": ("a", 2), "4-0": ("a", 1)}
    seen = compare(
        previous,
        [
            entry("1-0", "b", 2),  # claimed by b
            entry("2-0", "a", 3),  # redelivered twice to a
            entry("3-0", "c", 2),  # owner changed, no new delivery (JUSTID): not a claim
            entry("5-0", "d", 4),  # new in the window: nothing to compare
        ],  # 4-0 acknowledged: nothing
    )
    assert [(e.id, e.consumer, owner) for e, owner in seen.claims] == [("1-0", "b", "a")]
    assert seen.redeliveries == 2


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    reset_managers()
    yield
    reset_managers()


def xadd(url: str, key: str, *fields: str) -> str:
    return redis_cli(url, "XADD", key, "*", *fields).strip().strip('"')


@pytest.fixture
def orders(redis_url: str) -> list[str]:
    """A raw stream made and consumed only with redis-cli; worker1 holds all 3 entries.
    Adopted as a plain stream; returns the entry ids."""
    ids = [xadd(redis_url, "orders", "orderId", str(n), "data", "{}") for n in range(3)]
    redis_cli(redis_url, "XGROUP", "CREATE", "orders", "order-processors", "0")
    redis_cli(
        redis_url, "XREADGROUP", "GROUP", "order-processors", "worker1", "STREAMS", "orders", ">"
    )
    definition = QueueDefinition(name="orders", stream="orders")
    definition.full_clean()
    definition.save()
    return ids


def monitor_for(url: str, name: str = "solo") -> Monitor:
    return Monitor(lease=Lease(ttl=5), name=name)


def claimed_alerts(client) -> list[dict]:
    return client.get("/api/alerts/?kind=claimed").json()["results"]


@pytest.fixture
def viewer(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-1-tests"))
    return client


def test_acceptance_a_redis_cli_xclaim_becomes_a_claimed_alert_by_the_next_poll(
    redis_url, orders, viewer
):
    monitor = monitor_for(redis_url)
    monitor.cycle()  # poll 1: the baseline
    detail = viewer.get("/api/queues/orders/").json()["snapshot"]
    [group] = detail["groups"]
    assert (group["name"], group["lag"], group["pending"]) == ("order-processors", 0, 3)
    assert [c["name"] for c in group["consumer_list"]] == ["worker1"]
    assert claimed_alerts(viewer) == []

    redis_cli(redis_url, "XCLAIM", "orders", "order-processors", "worker2", "0", orders[0])
    monitor.cycle()  # poll 2: the claim is an alert now

    [alert] = claimed_alerts(viewer)
    assert (alert["queue"], alert["group"], alert["message_id"]) == (
        "orders",
        "order-processors",
        orders[0],
    )
    details = alert["details"]
    assert details["inferred"] is True
    assert (details["previous_owner"], details["new_owner"], details["deliveries"]) == (
        "worker1",
        "worker2",
        2,
    )
    assert "(inferred)" in alert["summary"]
    page = viewer.get(f"/alerts/{alert['id']}/").content.decode()
    assert "(inferred)" in page


def test_xautoclaim_claims_and_redeliveries_are_told_apart_and_feed_claim_stats(
    redis_url, orders, viewer
):
    monitor = monitor_for(redis_url)
    monitor.cycle()
    # XAUTOCLAIM moves two entries to worker3; XCLAIM to the same owner is a redelivery
    redis_cli(
        redis_url, "XAUTOCLAIM", "orders", "order-processors", "worker3", "0", "0", "COUNT", "2"
    )
    redis_cli(redis_url, "XCLAIM", "orders", "order-processors", "worker1", "0", orders[2])
    monitor.cycle()
    alerts = claimed_alerts(viewer)
    assert sorted(a["message_id"] for a in alerts) == sorted(orders[:2])
    assert all(a["details"]["new_owner"] == "worker3" for a in alerts)
    monitor.cycle()  # the claim-storm detector reads the rows written last cycle
    [group] = monitor.latest["orders"].groups
    assert group.claims == 2 and group.redeliveries == 1
    state = viewer.get("/api/queues/").json()["queues"][0]["snapshot"]["groups"][0]
    assert state["redeliveries"] == 1


def test_no_claim_is_counted_twice_across_a_restart_or_a_repeated_write(redis_url, orders, viewer):
    first = monitor_for(redis_url, "first")
    first.cycle()
    redis_cli(redis_url, "XCLAIM", "orders", "order-processors", "worker2", "0", orders[0])
    first.cycle()
    assert len(claimed_alerts(viewer)) == 1
    # the same claim written again (e.g. a retry after a failed transaction): one row
    again = InferredClaim("orders", "order-processors", orders[0], "worker1", "worker2", 2, 0, 1)
    first.pending_watch.record([again], record_inferred_claims)
    assert len(claimed_alerts(viewer)) == 1

    # a monitor taking over starts from a new baseline: nothing old is claimed again
    first.shutdown()
    second = monitor_for(redis_url, "second")
    second.cycle()
    second.cycle()
    assert len(claimed_alerts(viewer)) == 1
    redis_cli(redis_url, "XCLAIM", "orders", "order-processors", "worker1", "0", orders[0])
    second.cycle()
    alerts = claimed_alerts(viewer)
    assert len(alerts) == 2 and alerts[0]["details"]["previous_owner"] == "worker2"


def test_library_queues_are_never_inferred(redis_url, queue_name, viewer):
    from queues import Consumer, Manager, Producer

    QueueDefinition.objects.create(name="lib", queue=queue_name)
    Producer(queue_name, redis_url).publish({"n": 1})
    Manager(redis=redis_url).create_group(queue_name, "billing", start="0")
    client = redis.Redis.from_url(redis_url)
    client.xreadgroup("billing", "crashed", {f"sw:{{{queue_name}}}:stream": ">"})
    monitor = monitor_for(redis_url)
    monitor.cycle()
    consumer = Consumer(
        queue_name,
        "billing",
        lambda m: None,
        redis_url,
        name="rescuer",
        claim_idle=0.001,
        block_ms=50,
    )
    consumer.run(burst=True)
    monitor.cycle()
    monitor.cycle()
    alerts = claimed_alerts(viewer)
    assert [a["details"].get("inferred") for a in alerts] == [None]  # the library's event


def test_an_inferred_claim_is_notified_like_a_library_claim(redis_url, orders, settings):
    from alerts.backends import locmem
    from alerts.dispatch import dispatch_due
    from tests.alerts.test_notifications import deliver_available, later, locmem_channel

    settings.STREAMWARDEN_ALERTS_GROUP_WINDOW = 60
    locmem_channel()
    locmem.outbox.clear()
    monitor = monitor_for(redis_url)
    monitor.cycle()
    redis_cli(redis_url, "XCLAIM", "orders", "order-processors", "worker2", "0", orders[1])
    monitor.cycle()
    assert dispatch_due(now=later(61)) == 1
    deliver_available()
    [sent] = locmem.outbox
    text = str(sent)
    assert "orders" in text and orders[1] in text and "claimed" in text
