"""An incident is one page, not thousands: when more threshold / trend / claim-storm changes
than STREAMWARDEN_ALERTS_STATUS_GROUP_OVER wait at once, what is sent goes out as one
notification per kind, severity and direction, naming the queues; each alert is still
recorded as notified, silenced or inhibited as one by one, and Redis unreachable stays its
own notification."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.backends import locmem
from alerts.models import Alert, AlertState, Notification, NotificationChannel, NotifyState, Silence
from alerts.services import StatusChange, set_redis_reachable, sync_status_alerts
from tests.alerts.test_notifications import _run_pipeline, locmem_channel

pytestmark = pytest.mark.django_db(transaction=True)


def _incident(queues: list[str], status: str = "alert") -> None:
    sync_status_alerts(
        changes=[
            StatusChange(kind="threshold", queue=q, group=g, status=status)
            for q in queues
            for g in ("billing", "shipping")
        ]
    )


def test_an_incident_of_60_status_alerts_is_one_notification_per_channel(settings) -> None:
    settings.STREAMWARDEN_ALERTS_STATUS_GROUP_OVER = 20
    locmem_channel(name="everything")
    locmem_channel(name="orders-team", queues="q-07")
    locmem_channel(name="other-team", queues="not-in-this-incident")
    queues = [f"q-{i:02d}" for i in range(30)]
    set_redis_reachable(redis_url="redis://10.9.9.9:6379/0", reachable=False, error="refused")
    _incident(queues)
    _run_pipeline()
    sent = [(m.channel, m.payload["kind"], m.payload["count"]) for m in locmem.outbox]
    assert sorted(sent) == [
        ("everything", "redis_unreachable", 1),
        ("everything", "threshold", 60),
        ("orders-team", "threshold", 60),
    ]
    grouped = next(m for m in locmem.outbox if m.payload["kind"] == "threshold")
    assert grouped.payload["queues"] == queues
    assert grouped.payload["status"] == "firing"
    assert "60 threshold alerts firing on 30 queues" in grouped.title
    assert len(grouped.payload["sample_alerts"]) == 10
    # Each alert is recorded as notified, as when sent one by one (repeats and resolutions
    # count from it).
    assert set(Alert.objects.filter(kind="threshold").values_list("notify_state", flat=True)) == {
        NotifyState.SENT
    }
    assert not Alert.objects.filter(kind="threshold", last_notified_at__isnull=True).exists()

    locmem.outbox.clear()
    _incident(queues, status="ok")  # the incident ends: one "resolved" page
    _run_pipeline()
    assert sorted((m.channel, m.payload["status"], m.payload["count"]) for m in locmem.outbox) == [
        ("everything", "resolved", 60),
        ("orders-team", "resolved", 60),
    ]
    assert not Alert.objects.filter(kind="threshold", state=AlertState.OPEN).exists()


def test_a_few_status_changes_are_still_one_notification_each(settings) -> None:
    settings.STREAMWARDEN_ALERTS_STATUS_GROUP_OVER = 20
    locmem_channel()
    _incident([f"q-{i}" for i in range(10)])  # 20 alerts: not over 20
    _run_pipeline()
    assert len(locmem.outbox) == 20
    assert {m.payload["count"] for m in locmem.outbox} == {1}
    assert Notification.objects.count() == 20


def test_silenced_alerts_of_an_incident_are_left_out_of_its_notification(settings) -> None:
    settings.STREAMWARDEN_ALERTS_STATUS_GROUP_OVER = 5
    locmem_channel()
    Silence.objects.create(
        queue="q-0",
        comment="maintenance",
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    _incident([f"q-{i}" for i in range(5)])
    _run_pipeline()
    [page] = locmem.outbox
    assert page.payload["count"] == 8
    assert page.payload["queues"] == ["q-1", "q-2", "q-3", "q-4"]
    states = Alert.objects.filter(queue="q-0").values_list("notify_state", flat=True)
    assert set(states) == {NotifyState.SILENCED}
    assert NotificationChannel.objects.count() == 1


def test_a_grouped_notification_reads_as_one_incident_in_an_email(settings) -> None:
    from alerts.backends.base import render_text

    settings.STREAMWARDEN_ALERTS_STATUS_GROUP_OVER = 20
    locmem_channel()
    _incident([f"q-{i:02d}" for i in range(30)])
    _run_pipeline()
    text = render_text(Notification.objects.get(kind="threshold"))
    assert (
        "Queues:   q-00, q-01, q-02, q-03, q-04, q-05, q-06, q-07, q-08, q-09 and 20 more" in text
    )
    assert "Count:    60" in text


def test_an_alert_sent_in_a_group_says_so_on_its_page(settings) -> None:
    from alerts.selectors import notification_status

    settings.STREAMWARDEN_ALERTS_STATUS_GROUP_OVER = 20
    locmem_channel(name="orders-team", queues="q-07")
    _incident([f"q-{i:02d}" for i in range(30)])
    _run_pipeline()
    alert = Alert.objects.get(queue="q-07", group="billing")
    assert notification_status(alert=alert) == "Sent to 1 channel"
