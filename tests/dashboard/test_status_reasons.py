"""Statuses explain themselves (issue 16): the reason beside each status, the effective
thresholds on the queue page, and dead-letter severities that follow the thresholds."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module

import pytest
import redis

from alerts.models import Alert
from alerts.services import EventAlert, record_event_alerts
from dashboard.catalog.models import QueueDefinition, Threshold
from dashboard.monitor.engine import Monitor
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import reset_managers
from tests.support.queue_data import create_group, publish, read

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh(settings) -> Iterator[None]:
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    reset_managers()
    yield
    reset_managers()


@pytest.fixture(autouse=True)
def _global_defaults() -> None:
    """The global default row migration 0002 creates (flushed between transactional tests)."""
    defaults = import_module("dashboard.catalog.migrations.0002_global_default_thresholds")
    Threshold.objects.get_or_create(queue=None, defaults=defaults.DEFAULTS)


def _dead_letters(url: str, queue: str, count: int) -> None:
    client = redis.Redis.from_url(url)
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        pipe.xadd(
            f"sw:{{{queue}}}:dead", {"payload": "1", "ctype": "json", "original_id": f"{i}-1"}
        )
    pipe.execute()
    client.close()


def test_an_alert_says_why_on_the_snapshot_the_overview_row_and_the_queue_page(
    client, django_user_model, redis_url, queue_name
):
    client.force_login(django_user_model.objects.create_superuser("ops", "", "pw-tests-1"))
    definition = QueueDefinition.objects.create(name="orders", queue=queue_name)
    Threshold.objects.create(queue=definition, dead_letters_warn=1, dead_letters_alert=100)
    publish(redis_url, queue_name, [{"n": 1}])
    create_group(redis_url, queue_name, "billing")
    read(redis_url, queue_name, "billing", "worker-1", 1)  # an active consumer: the group is ok
    _dead_letters(redis_url, queue_name, 226)
    monitor = Monitor(lease=Lease(ttl=5), name="solo")
    monitor.cycle()

    snap = monitor.latest["orders"]
    assert snap.status == "alert"
    assert snap.reason == "dead letters 226 ≥ 100"
    assert all(g.status == "ok" and g.reason == "" for g in snap.groups)

    overview = client.get("/").content.decode()
    assert "— dead letters 226 ≥ 100" in overview
    page = client.get("/queues/orders/").content.decode()
    assert "alert — dead letters 226 ≥ 100" in page
    # The effective thresholds, the queue's own beside the global default, and where to edit.
    assert 'id="thresholds"' in page and 'data-metric="dead_letters"' in page
    assert f'href="/admin/queues/queuedefinition/{definition.pk}/change/"' in page
    detail = client.get("/api/queues/orders/").json()
    assert detail["snapshot"]["reason"] == "dead letters 226 ≥ 100"


def test_a_group_without_consumers_says_which_check_and_which_group(redis_url, queue_name):
    QueueDefinition.objects.create(name="orders", queue=queue_name)  # global defaults
    publish(redis_url, queue_name, [{"n": 1}])
    create_group(redis_url, queue_name, "billing")
    monitor = Monitor(lease=Lease(ttl=5), name="solo")
    monitor.cycle()
    snap = monitor.latest["orders"]
    (group,) = snap.groups
    assert (group.status, group.reason) == ("alert", "active consumers 0 ≤ 0")
    assert snap.reason == "active consumers 0 ≤ 0 (billing)"


def _dead_lettered(queue: str, event_id: str) -> Alert:
    record_event_alerts(
        events=[
            EventAlert(
                kind="dead_lettered",
                queue=queue,
                event_id=event_id,
                group="billing",
                message_id="1-0",
            )
        ]
    )
    return Alert.objects.get(queue=queue, event_id=event_id)


def test_a_single_dead_letter_is_a_warning_when_the_threshold_calls_one_a_warning():
    QueueDefinition.objects.create(name="orders", queue="orders")  # global: warn 1, alert 100
    assert _dead_lettered("orders", "1-0").severity == "warn"

    strict = QueueDefinition.objects.create(name="strict", queue="strict")
    Threshold.objects.create(queue=strict, dead_letters_alert=1)
    assert _dead_lettered("strict", "1-0").severity == "alert"

    Threshold.objects.filter(queue__isnull=True).update(dead_letters_warn=None)
    Threshold.objects.filter(queue__isnull=True).update(dead_letters_alert=None)
    QueueDefinition.objects.create(name="loose", queue="loose")
    assert _dead_lettered("loose", "1-0").severity == "alert"  # no levels: as before
