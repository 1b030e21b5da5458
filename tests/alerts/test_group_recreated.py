"""A consumer group re-created under running consumers raises a group_recreated alert."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import redis

from alerts.dispatch import dispatch_due
from alerts.ingest import ingest_events
from alerts.models import Alert, AlertKind, NotifyState
from queues import Consumer, Manager, Producer
from queues.keys import queue_keys
from tests.support.redis_process import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_group_recreated_by_a_running_consumer_becomes_an_alert(
    redis_url: str, queue_name: str, client, django_user_model
) -> None:
    producer = Producer(queue_name, redis=redis_url)
    manager = Manager(redis=redis_url)
    handled: list[str] = []
    consumer = Consumer(
        queue_name, "billing", lambda m: handled.append(m.id), redis_url, name="w1", block_ms=100
    )
    runs = threading.Thread(target=consumer.run, daemon=True)
    runs.start()
    try:
        first = producer.publish("one")
        wait_for(lambda: handled == [first], 10, message="handled")
        redis.Redis.from_url(redis_url).xgroup_destroy(queue_keys(queue_name).stream, "billing")
        wait_for(
            lambda: any(e.type == "group_recreated" for e in manager.events(queue=queue_name)),
            10,
            message="the consumer re-created its group",
        )
    finally:
        consumer.stop()
        runs.join(10)
        consumer.close()
        producer.close()
        manager.close()

    # group_created (the first start) is not an alert; group_recreated is
    assert ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m") == 1
    alert = Alert.objects.get()
    assert alert.kind == AlertKind.GROUP_RECREATED == "group_recreated"
    assert (alert.group, alert.severity) == ("billing", "alert")
    assert alert.details["start"] == first and alert.details["consumer"] == "w1"
    assert alert.summary == f"consumer group billing of {queue_name} re-created at {first} by w1"

    assert dispatch_due(now=alert.created_at + timedelta(hours=1)) == 1
    alert.refresh_from_db()
    assert alert.notify_state == NotifyState.SENT

    client.force_login(django_user_model.objects.create_user("ops", password="pw-for-tests-1"))
    page = client.get(f"/alerts/{alert.pk}/")
    assert page.status_code == 200
    assert "Consumer group re-created" in page.content.decode()
    listing = client.get("/alerts/?kind=group_recreated")
    assert listing.status_code == 200 and alert.summary in listing.content.decode()
