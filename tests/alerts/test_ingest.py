"""Every claimed message becomes exactly one alert row, read through a consumer group."""

from __future__ import annotations

import pytest
import redis

from alerts.ingest import GROUP, events_key, ingest_events
from alerts.models import Alert, AlertKind
from tests.alerts.claims import claim_all, kill_consumer_holding, publish

pytestmark = pytest.mark.django_db(transaction=True)


def test_sigkilled_consumer_holding_20_messages_gives_20_claimed_alerts(
    redis_url: str, queue_name: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    ids = publish(redis_url, queue_name, 20)
    kill_consumer_holding(redis_url, queue_name, "billing", 20)
    assert sorted(claim_all(redis_url, queue_name, "billing")) == sorted(ids)

    created = ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="monitor-1")

    assert created == 20
    rows = Alert.objects.filter(kind=AlertKind.CLAIMED, queue=queue_name)
    assert sorted(rows.values_list("message_id", flat=True)) == sorted(ids)
    assert set(rows.values_list("group", flat=True)) == {"billing"}
    assert rows.first().details["previous_owner"] == "doomed-worker"  # type: ignore[union-attr]
    # Everything was acknowledged after the commit: nothing left pending in the group.
    assert client.xpending(events_key(queue_name), GROUP)["pending"] == 0
    # A second pass finds nothing new.
    assert ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="monitor-1") == 0


def _crash_mid_ingestion(redis_url: str, queue: str, consumer: str, stored: int) -> int:
    """What a monitor killed mid-ingestion leaves: events read, some rows committed, no ack."""
    from alerts.ingest import _ensure_group, _store

    client = redis.Redis.from_url(redis_url)
    _ensure_group(client, events_key(queue))
    entries = client.xreadgroup(GROUP, consumer, {events_key(queue): ">"}, count=1000)[0][1]
    _ids, created = _store(queue, entries[:stored])  # committed, then SIGKILL before XACK
    return created


def test_monitor_restarted_mid_ingestion_duplicates_nothing(
    redis_url: str, queue_name: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    publish(redis_url, queue_name, 20)
    kill_consumer_holding(redis_url, queue_name, "billing", 20)
    claim_all(redis_url, queue_name, "billing")
    stored = _crash_mid_ingestion(redis_url, queue_name, "monitor-1", stored=8)
    assert 0 < stored == Alert.objects.count() < 20

    # The restarted monitor (same consumer name) re-reads its pending events.
    created = ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="monitor-1")

    assert created == 20 - stored
    assert Alert.objects.filter(kind=AlertKind.CLAIMED).count() == 20
    assert client.xpending(events_key(queue_name), GROUP)["pending"] == 0


def test_another_monitor_takes_over_pending_events_of_a_dead_one(
    redis_url: str, queue_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = redis.Redis.from_url(redis_url)
    publish(redis_url, queue_name, 20)
    kill_consumer_holding(redis_url, queue_name, "billing", 20)
    claim_all(redis_url, queue_name, "billing")
    stored = _crash_mid_ingestion(redis_url, queue_name, "monitor-old", stored=12)
    monkeypatch.setattr("alerts.ingest.TAKEOVER_IDLE_MS", 0)

    created = ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="monitor-new")

    assert created == 20 - stored
    assert Alert.objects.count() == 20
    assert Alert.objects.values("event_id").distinct().count() == 20
    assert client.xpending(events_key(queue_name), GROUP)["pending"] == 0


def test_dead_letter_events_become_alerts_and_other_events_are_skipped(
    redis_url: str, queue_name: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.xadd(events_key(queue_name), {"type": "retried", "queue": queue_name, "id": "1-0"})
    client.xadd(
        events_key(queue_name),
        {"type": "dead_lettered", "queue": queue_name, "group": "g", "id": "2-0", "error": "boom"},
    )

    assert ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m") == 1

    alert = Alert.objects.get()
    assert (alert.kind, alert.message_id, alert.severity) == ("dead_lettered", "2-0", "alert")
    assert alert.details["error"] == "boom"


def test_events_published_before_the_dashboard_group_existed_are_not_skipped(
    redis_url: str, queue_name: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.xadd(events_key(queue_name), {"type": "claimed", "queue": queue_name, "id": "5-0"})
    assert ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m") == 1


def test_blocking_read_waits_for_new_events(redis_url: str, queue_name: str) -> None:
    assert (
        ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m", block_ms=50) == 0
    )


def test_alerts_use_the_queue_definition_display_name(redis_url: str, queue_name: str) -> None:
    from queues.models import QueueDefinition

    QueueDefinition.objects.create(name="orders", queue=queue_name)
    client = redis.Redis.from_url(redis_url)
    client.xadd(events_key(queue_name), {"type": "claimed", "queue": queue_name, "id": "7-0"})

    ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m")

    alert = Alert.objects.get()
    assert (alert.queue, alert.details["queue"]) == ("orders", queue_name)
