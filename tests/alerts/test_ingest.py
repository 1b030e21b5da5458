"""Every claimed message becomes exactly one alert row, read through a consumer group."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import redis

from alerts.ingest import GROUP, events_key, ingest_events
from alerts.models import Alert, AlertKind
from queues import Manager, QueueUnavailable
from tests.support.claims import claim_all, kill_consumer_holding, publish

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
    from alerts.ingest import _store

    manager = Manager(redis=redis_url)
    try:
        events = manager.read_events([queue], GROUP, consumer, count=1000)
    finally:
        manager.close()
    return _store(events[:stored])  # committed, then SIGKILL before the ack


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
    from dashboard.catalog.models import QueueDefinition

    QueueDefinition.objects.create(name="orders", queue=queue_name)
    client = redis.Redis.from_url(redis_url)
    client.xadd(events_key(queue_name), {"type": "claimed", "queue": queue_name, "id": "7-0"})

    ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m")

    alert = Alert.objects.get()
    assert (alert.queue, alert.details["queue"]) == ("orders", queue_name)


def _claimed(client: redis.Redis, queue: str, message_id: str) -> None:
    client.xadd(events_key(queue), {"type": "claimed", "queue": queue, "id": message_id})


def test_a_data_losing_redis_restart_recreates_the_group_and_goes_on(
    redis_url: str, queue_name: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    _claimed(client, queue_name, "1-0")
    assert ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m") == 1
    client.flushall()  # Redis came back empty: the events stream and its group are gone
    assert ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m") == 0
    _claimed(client, queue_name, "2-0")

    assert ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m") == 1
    assert sorted(Alert.objects.values_list("message_id", flat=True)) == ["1-0", "2-0"]
    assert client.xpending(events_key(queue_name), GROUP)["pending"] == 0


def test_several_queues_are_ingested_in_one_call(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    queues = [f"multi-{i}" for i in range(3)]
    for i, queue in enumerate(queues):
        for n in range(i + 1):
            _claimed(client, queue, f"{n + 1}-0")

    assert ingest_events(redis_url=redis_url, queues=queues, consumer_name="m") == 6
    for i, queue in enumerate(queues):
        assert Alert.objects.filter(queue=queue).count() == i + 1
        assert client.xpending(events_key(queue), GROUP)["pending"] == 0


def test_one_call_ingests_at_most_max_per_call_events_per_queue(
    redis_url: str, queue_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("alerts.ingest.BATCH", 4)
    monkeypatch.setattr("alerts.ingest.MAX_PER_CALL", 8)
    client = redis.Redis.from_url(redis_url)
    for n in range(10):
        _claimed(client, queue_name, f"{n + 1}-0")

    assert ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m") == 8
    assert ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m") == 2


def test_a_blocking_read_returns_with_events_that_arrive_while_it_waits(
    redis_url: str, queue_name: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    assert ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m") == 0
    timer = threading.Timer(0.3, _claimed, args=(client, queue_name, "3-0"))
    timer.start()
    started = time.monotonic()
    try:
        created = ingest_events(
            redis_url=redis_url, queues=[queue_name], consumer_name="m", block_ms=5000
        )
    finally:
        timer.join()
    assert created == 1
    assert 0.2 < time.monotonic() - started < 4.0


def test_a_blocking_read_longer_than_the_socket_timeout_waits_it_out(
    redis_url: str, queue_name: str
) -> None:
    started = time.monotonic()
    assert (
        ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m", block_ms=2500)
        == 0
    )
    assert 2.4 < time.monotonic() - started < 4.0


def test_an_unreachable_redis_raises_queue_unavailable(private_redis, queue_name: str) -> None:
    url = private_redis.url
    private_redis.stop()
    with pytest.raises(QueueUnavailable):
        ingest_events(redis_url=url, queues=[queue_name], consumer_name="m")


def test_hostile_events_are_stored_cleaned_and_acknowledged_next_to_healthy_ones(
    redis_url: str, queue_name: str
) -> None:
    """Any client can write the events stream: a group name longer than the column, a
    message id over 64 characters, NUL characters and non-UTF-8 field names must not stop
    the ingestion (on PostgreSQL they raised DataError and the batch was re-read forever)."""
    client = redis.Redis.from_url(redis_url)
    ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="monitor-1")
    stream = events_key(queue_name)
    client.xadd(
        stream,
        {
            "type": "claimed",
            "queue": queue_name,
            "group": "g" * 300,
            "id": "9" * 100,
            "note\x00": "a\x00b",
            b"\xff\xfe": b"\xff",
        },
    )
    client.xadd(stream, {"type": "dead_lettered", "queue": queue_name, "group": "ok", "id": "1-1"})

    created = ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="monitor-1")

    assert created == 2
    hostile = Alert.objects.get(kind=AlertKind.CLAIMED, queue=queue_name)
    assert len(hostile.group) <= 200 and hostile.group.startswith("ggg")
    assert len(hostile.message_id) <= 64
    assert "\x00" not in repr(hostile.details) and "\x00" not in hostile.summary
    healthy = Alert.objects.get(kind=AlertKind.DEAD_LETTERED, queue=queue_name)
    assert (healthy.group, healthy.message_id) == ("ok", "1-1")
    assert client.xpending(stream, GROUP)["pending"] == 0


def test_an_event_the_database_refuses_costs_only_its_own_row(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows of every queue of a batch go in one insert; when the database refuses it,
    queue by queue, and the event refused again is kept as a placeholder: the other queues'
    rows are stored and every event is acknowledged."""
    from django.db import DatabaseError

    from alerts import ingest, services

    # no look for other consumers' events after the first call: one batch, one insert
    monkeypatch.setattr(ingest, "_takeover", ingest.TakeoverRounds())
    monkeypatch.setattr(ingest, "TAKEOVER_EVERY", 3600.0)
    client = redis.Redis.from_url(redis_url)
    queues = [f"batch-{i}" for i in range(3)]
    ingest_events(redis_url=redis_url, queues=queues, consumer_name="m")
    for i, queue in enumerate(queues[:2]):
        _claimed(client, queue, f"{i + 1}-0")
    poison = client.xadd(
        events_key(queues[1]), {"type": "claimed", "queue": queues[1], "id": "9-9"}
    )
    # event ids are per stream: another queue's event may carry the same id (same ms)
    client.xadd(
        events_key(queues[2]), {"type": "claimed", "queue": queues[2], "id": "3-0"}, id=poison
    )
    inserts = []

    def picky(*, events: list[Any], publish_newest: int = 20) -> int:
        inserts.append(len(events))
        if any(
            (e.queue, e.event_id) == (queues[1], poison.decode()) and "unreadable" not in e.details
            for e in events
        ):
            raise DatabaseError("value refused")
        return services.record_event_alerts(events=events, publish_newest=publish_newest)

    monkeypatch.setattr(ingest, "record_event_alerts", picky)
    assert ingest_events(redis_url=redis_url, queues=queues, consumer_name="m") == 4
    assert inserts[0] == 4  # first, every queue's rows at once
    placeholder = Alert.objects.get(queue=queues[1], event_id=poison.decode())
    assert placeholder.message_id == ""  # the placeholder: its identity, and why
    assert "value refused" in placeholder.details["unreadable"]
    assert sorted(
        Alert.objects.exclude(pk=placeholder.pk).values_list("message_id", flat=True)
    ) == ["1-0", "2-0", "3-0"]
    for queue in queues:
        assert client.xpending(events_key(queue), GROUP)["pending"] == 0
