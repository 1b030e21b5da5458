"""Trim-loss risk: trimming to a MAXLEN is checked against what the groups still need."""

from __future__ import annotations

import pytest

from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.engine import Monitor
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import manager_for, reset_managers
from dashboard.monitor.trimrisk import GroupProgress, assess
from tests.support.queue_data import ack_all, create_group, publish, read


@pytest.fixture(autouse=True)
def _fresh_managers():
    reset_managers()
    yield
    reset_managers()


def test_undelivered_entries_are_the_newest_so_a_maxlen_below_the_lag_loses_them():
    risk = assess(maxlen=5, length=10, groups=[GroupProgress("billing", lag=6, pending=0)])
    assert (risk.removes, risk.undelivered, risk.level) == (5, 1, "alert")
    assert risk.safe_maxlen_at_least == 6


def test_pending_entries_are_older_than_undelivered_ones_so_some_surely_go_and_more_may():
    risk = assess(maxlen=8, length=10, groups=[GroupProgress("billing", lag=4, pending=6)])
    assert (risk.undelivered, risk.pending_at_least, risk.level) == (0, 2, "alert")
    roomy = assess(maxlen=9, length=10, groups=[GroupProgress("billing", lag=0, pending=3)])
    assert (roomy.pending_at_least, roomy.pending_possible, roomy.level) == (0, True, "warn")


def test_a_maxlen_that_keeps_everything_unread_and_unacked_is_ok_and_the_worst_group_counts():
    groups = [GroupProgress("fast", lag=0, pending=0), GroupProgress("slow", lag=7, pending=0)]
    assert assess(maxlen=7, length=100, groups=groups).level == "ok"
    assert assess(maxlen=6, length=100, groups=groups).undelivered == 1
    assert assess(maxlen=200, length=100, groups=groups).removes == 0


def test_an_unknown_lag_is_a_warning_not_a_silent_ok():
    risk = assess(maxlen=1, length=10, groups=[GroupProgress("g", lag=None, pending=0)])
    assert risk.level == "warn" and "unknown" in risk.detail


@pytest.mark.django_db
def test_the_api_checks_a_maxlen_against_live_numbers_and_agrees_with_the_library_trim(
    client, django_user_model, redis_url, queue_name
):
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-tests-1"))
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    publish(redis_url, queue_name, [{"n": i} for i in range(10)])
    create_group(redis_url, queue_name, "billing")
    read(redis_url, queue_name, "billing", "worker-1", 4)  # 4 pending, 6 undelivered

    at_5 = client.get("/api/queues/orders/trim-risk/?maxlen=5").json()
    assert (at_5["level"], at_5["undelivered"], at_5["pending_at_least"]) == ("alert", 1, 4)
    at_8 = client.get("/api/queues/orders/trim-risk/?maxlen=8").json()
    assert (at_8["undelivered"], at_8["pending_at_least"], at_8["level"]) == (0, 2, "alert")
    assert client.get("/api/queues/orders/trim-risk/?maxlen=10").json()["level"] == "ok"
    assert client.get("/api/queues/orders/trim-risk/?maxlen=x").status_code == 400

    ack_all(redis_url, queue_name, "billing")
    after_ack = client.get("/api/queues/orders/trim-risk/?maxlen=6").json()
    assert after_ack["level"] == "ok" and after_ack["safe_maxlen_at_least"] == 6
    # The library's safe trim removes exactly what the risk calls safe: 4 acked entries.
    assert manager_for(redis_url).trim(queue_name) == 4
    assert client.get("/api/queues/orders/").json()["snapshot"]["length"] == 6


@pytest.mark.django_db(transaction=True)
def test_the_monitor_warns_when_the_producers_maxlen_would_drop_unread_entries(
    settings, redis_url, queue_name
):
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    QueueDefinition.objects.create(name="orders", queue=queue_name, maxlen=3)
    publish(redis_url, queue_name, [{"n": i} for i in range(10)])
    create_group(redis_url, queue_name, "billing")
    monitor = Monitor(lease=Lease(ttl=5), name="solo")
    monitor.cycle()
    risk = monitor.latest["orders"].trim_risk
    assert risk is not None and (risk.level, risk.undelivered) == ("alert", 7)
    assert monitor.latest["orders"].as_json()["trim_risk"]["level"] == "alert"
