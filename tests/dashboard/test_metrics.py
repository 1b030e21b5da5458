"""/metrics: the monitor's stored view in Prometheus text, made by prometheus_client, with
counters to take ``rate()`` of; a scrape sends Redis nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from alerts.models import Alert, AlertKind, NotifyState, Severity
from dashboard.catalog.models import QueueDefinition
from dashboard.models import MonitorState
from dashboard.monitor.library import reset_managers
from tests.support.queue_data import create_group, dead_letter, monitor_cycle, publish, read

pytestmark = pytest.mark.django_db(transaction=True)

COUNTERS = {
    "streamwarden_stream_entries_added",
    "streamwarden_group_entries_read",
    "streamwarden_claims",
    "streamwarden_dead_letters",
    "streamwarden_alerts",
}


@pytest.fixture(autouse=True)
def _fresh(settings) -> Iterator[None]:
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    reset_managers()
    yield
    reset_managers()


@pytest.fixture
def viewer(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-x-1234567"))
    return client


def _families(text: str) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def _sample(family, **labels: str) -> float:
    (value,) = [
        s.value for s in family.samples if s.labels == labels and not s.name.endswith("_created")
    ]
    return value


def _commands(client: redis.Redis) -> int:
    return int(client.info("stats")["total_commands_processed"])


def test_metrics_parse_with_types_help_and_the_counters(redis_url, queue_name, viewer):
    publish(redis_url, queue_name, [{"n": i} for i in range(5)])
    create_group(redis_url, queue_name, "billing")
    assert read(redis_url, queue_name, "billing", "worker-1", 2) == 2
    dead_letter(redis_url, queue_name, {"n": "x"})
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    for n in range(3):
        Alert.objects.create(
            kind=AlertKind.CLAIMED, queue="orders", group="billing", message_id=f"{n}-0"
        )
    Alert.objects.create(kind=AlertKind.DEAD_LETTERED, queue="orders", severity=Severity.ALERT)
    monitor_cycle()

    response = viewer.get("/metrics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    families = _families(response.content.decode())

    for name in COUNTERS:
        assert families[name].type == "counter", name
        assert families[name].documentation, name
    for name in ("streamwarden_queue_length", "streamwarden_group_lag", "streamwarden_monitor_up"):
        assert families[name].type == "gauge" and families[name].documentation
    assert _sample(families["streamwarden_stream_entries_added"], queue="orders") == 5
    billing = {"queue": "orders", "group": "billing"}
    assert _sample(families["streamwarden_group_entries_read"], **billing) == 2
    assert _sample(families["streamwarden_claims"], **billing) == 3
    assert _sample(families["streamwarden_dead_letters"], queue="orders") == 1
    assert _sample(families["streamwarden_alerts"], kind="claimed", severity="warn") == 3
    assert _sample(families["streamwarden_alerts"], kind="dead_lettered", severity="alert") == 1
    # today's gauges keep their names and values
    assert _sample(families["streamwarden_queue_length"], queue="orders") == 5
    assert _sample(families["streamwarden_group_lag"], **billing) == 3
    assert _sample(families["streamwarden_group_pending"], **billing) == 2
    assert _sample(families["streamwarden_queue_dead_letters"], queue="orders") == 1
    assert _sample(families["streamwarden_monitor_up"]) == 1
    # counter samples carry the conventional suffix
    assert "streamwarden_claims_total{" in response.content.decode()


def test_a_scrape_sends_redis_nothing_even_when_the_monitor_is_down(
    redis_url, redis_client, queue_name, viewer
):
    publish(redis_url, queue_name, [{"n": 1}, {"n": 2}])
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    monitor_cycle()
    MonitorState.objects.update(last_cycle_at=datetime.now(UTC) - timedelta(hours=1))
    publish(redis_url, queue_name, [{"n": 3}])

    before = _commands(redis_client)
    text = viewer.get("/metrics").content.decode()
    # INFO itself is counted once it has run: one command between the two reads
    assert _commands(redis_client) - before == 1
    families = _families(text)
    # the stored figures (2, not the live 3), marked as not current
    assert _sample(families["streamwarden_queue_length"], queue="orders") == 2
    assert _sample(families["streamwarden_monitor_up"]) == 0


def test_hostile_names_are_escaped_labels(redis_url, queue_name, viewer):
    publish(redis_url, queue_name, [{"n": 1}])
    create_group(redis_url, queue_name, 'bad"group\nname\\x')
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    monitor_cycle()
    families = _families(viewer.get("/metrics").content.decode())
    (lag,) = [
        s for s in families["streamwarden_group_lag"].samples if s.labels["queue"] == "orders"
    ]
    assert lag.value == 1 and lag.labels["group"].startswith('bad"group')


def test_alert_counters_never_drop_when_the_retention_prunes_or_a_status_alert_escalates(
    redis_url, queue_name, viewer, settings
):
    """A counter that drops reads to Prometheus as a reset: ``increase()`` would count every
    kept alert again. Pruned alerts and a status alert's earlier severity stay counted."""
    from alerts.retention import prune
    from alerts.services import record_event_alert, sync_status_alert

    settings.STREAMWARDEN_ALERTS_RETENTION_DAYS = 30
    publish(redis_url, queue_name, [{"n": 1}])
    create_group(redis_url, queue_name, "billing")
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    monitor_cycle()  # stores the queue: its per-queue counters are exported from now on
    billing = {"queue": "orders", "group": "billing"}

    def scrape() -> dict[str, float]:
        families = _families(viewer.get("/metrics").content.decode())
        alerts = families.get("streamwarden_alerts")
        counts = {
            (s.labels["kind"], s.labels["severity"]): s.value
            for s in (alerts.samples if alerts else ())
            if not s.name.endswith("_created")
        }
        return {
            "claims": _sample(families["streamwarden_claims"], **billing),
            "dead": _sample(families["streamwarden_dead_letters"], queue="orders"),
            "claimed": counts.get(("claimed", "warn"), 0),
            "warn": counts.get(("threshold", "warn"), 0),
            "alert": counts.get(("threshold", "alert"), 0),
        }

    # the monitor's own status alerts about the queue, if any, stay open (not pruned)
    base = scrape()
    for n in range(3):
        record_event_alert(kind="claimed", queue="orders", group="billing", event_id=f"{n}-1")
    record_event_alert(kind="dead_lettered", queue="orders", event_id="9-1")
    # a status alert of another queue, as an outside check would raise it
    sync_status_alert(kind="threshold", queue="elsewhere", group="g", status="warn", details={})
    expected = {**base, "claims": 3, "dead": 1, "claimed": 3, "warn": base["warn"] + 1}
    assert scrape() == expected

    sync_status_alert(kind="threshold", queue="elsewhere", group="g", status="alert", details={})
    # it was a warning: that stays counted
    expected["alert"] += 1
    assert scrape() == expected

    old = timezone.now() - timedelta(days=31)
    Alert.objects.filter(kind__in=["claimed", "dead_lettered"]).update(
        created_at=old, notify_state=NotifyState.SENT
    )
    assert prune()["alerts"] == 4
    assert not Alert.objects.filter(kind__in=["claimed", "dead_lettered"]).exists()
    assert scrape() == expected

    record_event_alert(kind="claimed", queue="orders", group="billing", event_id="5-1")
    assert scrape() == {**expected, "claims": 4, "claimed": 4}
