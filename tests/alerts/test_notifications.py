"""Notifications: grouped, signed, retried until delivered, never flooding people."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis
from django.core import mail
from django.utils import timezone

from alerts.backends import locmem
from alerts.backends.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from alerts.dispatch import dispatch_due
from alerts.ingest import events_key, ingest_events
from alerts.models import (
    Alert,
    Notification,
    NotificationChannel,
    NotificationDelivery,
    NotifyState,
    Silence,
)
from alerts.notifier import Notifier
from alerts.services import set_redis_reachable, sync_status_alert
from tests.support.redis_process import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "s3cret-for-tests"


def claims(redis_url: str, queue: str, count: int, *, start: int = 0) -> None:
    """``count`` claimed events in the library's format, then ingested as the monitor does."""
    client = redis.Redis.from_url(redis_url)
    pipe = client.pipeline(transaction=False)
    for i in range(start, start + count):
        pipe.xadd(
            events_key(queue),
            {"type": "claimed", "queue": queue, "group": "billing", "id": f"{1000 + i}-0"},
        )
    pipe.execute()
    ingest_events(redis_url=redis_url, queues=[queue], consumer_name="monitor")


def deliver_available() -> None:
    """What the notifier's consumer does, for the jobs queued now (one worker thread)."""
    consumer = Notifier(name="n", concurrency=1, handle_signals=False).consumer
    try:
        consumer.run(burst=True)
    finally:
        consumer.close()


def webhook(url: str, **kwargs) -> NotificationChannel:
    return NotificationChannel.objects.create(
        name=f"hook-{url}",
        backend="alerts.backends.webhook.WebhookBackend",
        url=url,
        secret=SECRET,
        **kwargs,
    )


def locmem_channel(**kwargs) -> NotificationChannel:
    return NotificationChannel.objects.create(
        name=kwargs.pop("name", "mem"), backend="alerts.backends.locmem.LocmemBackend", **kwargs
    )


def later(seconds: float = 3600):
    return timezone.now() + timedelta(seconds=seconds)


def test_webhook_receiver_gets_json_with_a_valid_signature(
    redis_url, queue_name, webhook_receiver, notifier
) -> None:
    webhook(webhook_receiver.url)
    claims(redis_url, queue_name, 3)

    wait_for(lambda: webhook_receiver.received, timeout=10, message="webhook received")

    hit = webhook_receiver.received[0]
    assert verify(hit.body, SECRET, hit.headers[SIGNATURE_HEADER], hit.headers[TIMESTAMP_HEADER])
    assert hit.headers[SIGNATURE_HEADER].startswith("sha256=")
    assert not verify(
        hit.body, "wrong-secret", hit.headers[SIGNATURE_HEADER], hit.headers[TIMESTAMP_HEADER]
    )
    assert hit.headers["Content-Type"] == "application/json"
    body = hit.json
    assert (body["queue"], body["kind"], body["count"]) == (queue_name, "claimed", 3)
    assert body["sample_message_ids"] == ["1000-0", "1001-0", "1002-0"]
    wait_for(lambda: NotificationDelivery.objects.filter(ok=True, status_code=204).exists())


def test_receiver_down_for_10s_gets_the_notification_after_it_returns_and_the_log_shows_failures(
    redis_url, queue_name, webhook_receiver, notifier, settings
) -> None:
    settings.STREAMWARDEN_NOTIFY_MAX_ATTEMPTS = 30
    webhook_receiver.stop()
    channel = webhook(webhook_receiver.url)
    claims(redis_url, queue_name, 5)
    failed = NotificationDelivery.objects.filter(channel=channel, ok=False)
    wait_for(lambda: failed.count() >= 2, timeout=10, message="failed attempts logged")

    # The notifier is restarted while the receiver is still down: the retry lives in Redis.
    notifier.stop()
    notifier.start(name="test-notifier-2")
    wait_for(lambda: failed.count() >= 4, timeout=15, message="retries go on after a restart")
    down_since = failed.earliest("created_at").created_at
    wait_for(lambda: timezone.now() - down_since >= timedelta(seconds=10), timeout=15, interval=0.2)
    assert webhook_receiver.received == []
    webhook_receiver.start()

    wait_for(lambda: webhook_receiver.received, timeout=10, message="delivered after return")
    hit = webhook_receiver.received[0]
    assert verify(hit.body, SECRET, hit.headers[SIGNATURE_HEADER], hit.headers[TIMESTAMP_HEADER])
    assert hit.json["count"] == 5
    wait_for(lambda: NotificationDelivery.objects.filter(channel=channel, ok=True).exists())
    log = list(NotificationDelivery.objects.filter(channel=channel).order_by("attempt"))
    assert [d.attempt for d in log] == list(range(1, len(log) + 1))
    assert all(not d.ok and "cannot reach" in d.error for d in log[:-1])
    assert log[-1].ok and log[-1].status_code == 204
    assert len(webhook_receiver.received) == 1  # delivered once, not once per attempt


def test_http_error_status_is_logged_with_its_code_and_retried(
    redis_url, queue_name, webhook_receiver, notifier
) -> None:
    webhook_receiver.status = 503
    channel = webhook(webhook_receiver.url)
    claims(redis_url, queue_name, 1)
    wait_for(lambda: NotificationDelivery.objects.filter(status_code=503).count() >= 2)
    webhook_receiver.status = 200
    wait_for(lambda: NotificationDelivery.objects.filter(channel=channel, ok=True).exists())
    assert NotificationDelivery.objects.get(ok=True).status_code == 200


def test_a_storm_of_1000_claims_in_one_window_is_1000_rows_and_one_notification_per_channel(
    redis_url, queue_name, webhook_receiver, notifier, settings
) -> None:
    settings.STREAMWARDEN_ALERTS_GROUP_WINDOW = 5  # the whole storm falls in one window
    webhook(webhook_receiver.url)
    locmem_channel()
    NotificationChannel.objects.create(
        name="mail", backend="alerts.backends.email.EmailBackend", emails="ops@example.com"
    )
    claims(redis_url, queue_name, 1000)

    assert Alert.objects.filter(kind="claimed", queue=queue_name).count() == 1000
    wait_for(lambda: webhook_receiver.received and locmem.outbox and mail.outbox, timeout=15)
    wait_for(lambda: not Alert.objects.filter(notify_state=NotifyState.PENDING).exists())
    notifier.stop()  # let nothing else arrive unseen
    assert Notification.objects.count() == 1
    assert len(webhook_receiver.received) == 1
    assert len(locmem.outbox) == 1
    assert len(mail.outbox) == 1
    body = webhook_receiver.received[0].json
    assert body["count"] == 1000
    assert len(body["sample_message_ids"]) == 10


def test_email_arrives_with_queue_kind_and_count(redis_url, queue_name, settings) -> None:
    settings.STREAMWARDEN_ALERTS_GROUP_WINDOW = 60
    NotificationChannel.objects.create(
        name="mail",
        backend="alerts.backends.email.EmailBackend",
        emails="ops@example.com, sre@example.com",
    )
    claims(redis_url, queue_name, 7)
    # Within the window nothing is sent; at its end one grouped notification is.
    assert dispatch_due() == 0
    assert dispatch_due(now=later(61)) == 1
    deliver_available()

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["ops@example.com", "sre@example.com"]
    assert queue_name in email.subject and "7 messages claimed" in email.subject
    assert f"Queue:    {queue_name}" in email.body
    assert "Kind:     claimed" in email.body
    assert "Count:    7" in email.body


def _run_pipeline(now=None) -> None:
    dispatch_due(now=now)
    deliver_available()


def test_a_silence_suppresses_notifications_but_rows_are_recorded_and_expiry_resumes(
    redis_url, queue_name, settings
) -> None:
    settings.STREAMWARDEN_ALERTS_GROUP_WINDOW = 0
    locmem_channel()
    silence = Silence.objects.create(
        queue=queue_name,
        kind="claimed",
        comment="deploying billing",
        starts_at=timezone.now(),
        ends_at=later(),
    )
    claims(redis_url, queue_name, 4)
    _run_pipeline()
    assert Alert.objects.filter(queue=queue_name).count() == 4
    assert set(Alert.objects.values_list("notify_state", flat=True)) == {"silenced"}
    assert locmem.outbox == []

    # Another queue is not matched by the silence.
    claims(redis_url, "other-queue", 1)
    _run_pipeline()
    assert [m.payload["queue"] for m in locmem.outbox] == ["other-queue"]

    silence.ends_at = timezone.now()
    silence.save()
    assert silence.expired
    claims(redis_url, queue_name, 2, start=100)
    _run_pipeline()
    assert Alert.objects.filter(queue=queue_name).count() == 6
    assert locmem.outbox[-1].payload["queue"] == queue_name
    assert locmem.outbox[-1].payload["count"] == 2


def test_a_silenced_status_alert_is_notified_when_the_silence_ends_if_still_open(
    settings,
) -> None:
    locmem_channel()
    silence = Silence.objects.create(
        kind="threshold", comment="known", starts_at=timezone.now(), ends_at=later()
    )
    sync_status_alert(kind="threshold", queue="q", group="g", status="alert", details={})
    _run_pipeline()
    assert locmem.outbox == []
    Silence.objects.filter(pk=silence.pk).update(ends_at=timezone.now())
    _run_pipeline()
    assert [m.payload["status"] for m in locmem.outbox] == ["firing"]


def test_threshold_notifications_repeat_at_most_every_repeat_interval(settings) -> None:
    settings.STREAMWARDEN_ALERTS_REPEAT_INTERVAL = 300
    locmem_channel()
    for _ in range(3):
        sync_status_alert(kind="threshold", queue="q", group="g", status="warn", details={})
        _run_pipeline()
    assert len(locmem.outbox) == 1
    Alert.objects.update(last_notified_at=timezone.now() - timedelta(seconds=301))
    for _ in range(3):
        sync_status_alert(kind="threshold", queue="q", group="g", status="warn", details={})
        _run_pipeline()
    assert len(locmem.outbox) == 2
    sync_status_alert(kind="threshold", queue="q", group="g", status="ok", details={})
    _run_pipeline()
    assert [m.payload["status"] for m in locmem.outbox] == ["firing", "firing", "resolved"]


def test_redis_unreachable_inhibits_lag_notifications_of_that_redis_only(settings) -> None:
    locmem_channel()
    down, other = "redis://10.1.1.1:6379/0", "redis://10.2.2.2:6379/0"
    set_redis_reachable(redis_url=down, reachable=False, error="connection refused")
    sync_status_alert(
        kind="threshold", queue="a", group="g", status="alert", details={}, redis_url=down
    )
    sync_status_alert(
        kind="trend", queue="a", group="g", status="STALL", details={}, redis_url=down
    )
    sync_status_alert(
        kind="threshold", queue="b", group="g", status="alert", details={}, redis_url=other
    )
    _run_pipeline()
    sent = sorted((m.payload["kind"], m.payload["queue"]) for m in locmem.outbox)
    assert sent == [("redis_unreachable", ""), ("threshold", "b")]
    assert Alert.objects.filter(notify_state=NotifyState.INHIBITED).count() == 2
    assert Alert.objects.count() == 4  # rows are recorded all the same

    # Redis is back and the lag persists: the lag alerts are told now.
    set_redis_reachable(redis_url=down, reachable=True)
    _run_pipeline()
    kinds = [(m.payload["kind"], m.payload["status"]) for m in locmem.outbox[2:]]
    assert ("redis_unreachable", "resolved") in kinds
    _run_pipeline()
    kinds = [(m.payload["kind"], m.payload["queue"]) for m in locmem.outbox[2:]]
    assert ("threshold", "a") in kinds and ("trend", "a") in kinds


def test_channel_filters_on_severity_queue_and_kind() -> None:
    info_only_dead = locmem_channel(name="dead", kinds="dead_lettered")
    orders_only = locmem_channel(name="orders", queues="orders", min_severity="alert")
    assert info_only_dead.accepts(kind="dead_lettered", queue="x", severity="alert")
    assert not info_only_dead.accepts(kind="claimed", queue="x", severity="alert")
    assert orders_only.accepts(kind="claimed", queue="orders", severity="alert")
    assert not orders_only.accepts(kind="claimed", queue="orders", severity="warn")
    assert not orders_only.accepts(kind="claimed", queue="billing", severity="alert")


def test_redelivered_job_does_not_notify_twice(redis_url, queue_name, settings) -> None:
    from alerts.notifier import deliver_job

    settings.STREAMWARDEN_ALERTS_GROUP_WINDOW = 0
    channel = locmem_channel()
    claims(redis_url, queue_name, 1)
    dispatch_due()
    job = {"notification": Notification.objects.get().pk, "channel": channel.pk, "attempt": 1}
    assert deliver_job(job) is not None
    assert deliver_job(job) is None
    assert len(locmem.outbox) == 1
    assert json.dumps(locmem.outbox[0].payload)


def test_an_open_claim_storm_is_the_one_notification_for_its_groups_claims(
    redis_url, queue_name, settings
) -> None:
    settings.STREAMWARDEN_ALERTS_GROUP_WINDOW = 0
    locmem_channel()
    storm = sync_status_alert(
        kind="claim_storm",
        queue=queue_name,
        group="billing",
        status="alert",
        details={"claims": 40, "rate_per_min": 40},
    )
    assert storm is not None and storm.severity == "alert"
    claims(redis_url, queue_name, 40)  # group billing: covered by the storm
    redis.Redis.from_url(redis_url).xadd(
        events_key(queue_name),
        {"type": "claimed", "queue": queue_name, "group": "shipping", "id": "9-0"},
    )
    ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="monitor")
    _run_pipeline()

    sent = sorted((m.payload["kind"], m.payload["count"]) for m in locmem.outbox)
    assert sent == [("claim_storm", 1), ("claimed", 1)]
    assert Alert.objects.filter(kind="claimed").count() == 41  # every claim is still a row
    assert Alert.objects.filter(notify_state=NotifyState.STORM).count() == 40

    sync_status_alert(
        kind="claim_storm", queue=queue_name, group="billing", status="ok", details={}
    )
    claims(redis_url, queue_name, 2, start=500)
    _run_pipeline()
    tail = [(m.payload["kind"], m.payload["status"], m.payload["count"]) for m in locmem.outbox[2:]]
    assert sorted(tail) == [("claim_storm", "resolved", 1), ("claimed", "firing", 2)]


def test_redis_passwords_never_reach_people() -> None:
    locmem_channel()
    url = "redis://:hunter2@10.9.9.9:6379/0"
    set_redis_reachable(redis_url=url, reachable=False, error="refused")
    _run_pipeline()
    sent = json.dumps(locmem.outbox[0].payload) + locmem.outbox[0].title
    assert "hunter2" not in sent and "redis://:***@10.9.9.9:6379/0" in sent
    assert Alert.objects.get().redis_url == "redis://:***@10.9.9.9:6379/0"  # never stored raw
