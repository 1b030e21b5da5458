"""Records of what happened are read-only in the admin (issue 15, item 7): alerts, notifications
and their deliveries, metric snapshots and the monitor state can be viewed but not added,
changed or deleted there (that would bypass the audit log), and audit-log rows cannot be deleted
— not even by a superuser."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import Notification, NotificationChannel, NotificationDelivery
from dashboard.models import AuditLog, MetricSnapshot, MonitorState

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(django_user_model) -> Client:
    client = Client()
    client.force_login(
        django_user_model.objects.create_superuser("root", password="pw-for-tests-1")
    )
    return client


def _records() -> dict[str, object]:
    from alerts.services import record_event_alert

    alert, _ = record_event_alert(kind="claimed", queue="orders", event_id="1-0", message_id="9-0")
    notification = Notification.objects.create(kind="claimed", severity="warn", title="t")
    channel = NotificationChannel.objects.create(name="hook", url="https://example.com/")
    return {
        "alerts/alert": alert,
        "alerts/notification": notification,
        "alerts/notificationdelivery": NotificationDelivery.objects.create(
            notification=notification, channel=channel, attempt=1, ok=False, error="boom"
        ),
        "dashboard/metricsnapshot": MetricSnapshot.objects.create(
            queue="orders", at=timezone.now(), length=5
        ),
        "dashboard/monitorstate": MonitorState.objects.create(holder="host-1"),
        "dashboard/auditlog": AuditLog.objects.create(
            username="ops", action="queue.purge", target="orders"
        ),
    }


def test_a_superuser_cannot_resolve_an_alert_by_editing_it_in_the_admin(root):
    from alerts.services import record_event_alert

    alert, _ = record_event_alert(kind="claimed", queue="orders", event_id="1-0", message_id="9-0")
    form = {
        "kind": alert.kind,
        "severity": alert.severity,
        "state": "resolved",
        "queue": alert.queue,
        "group": alert.group,
        "message_id": alert.message_id,
        "redis_url": alert.redis_url,
        "status": alert.status,
        "summary": alert.summary,
        "details": json.dumps(alert.details),
        "notify_state": alert.notify_state,
        "_save": "Save",
    }
    response = root.post(f"/admin/alerts/alert/{alert.pk}/change/", form)
    alert.refresh_from_db()
    assert alert.state != "resolved"
    assert response.status_code == 403


@pytest.mark.parametrize(
    "model",
    [
        "alerts/alert",
        "alerts/notification",
        "alerts/notificationdelivery",
        "dashboard/metricsnapshot",
        "dashboard/monitorstate",
        "dashboard/auditlog",
    ],
)
def test_records_can_be_viewed_but_not_added_changed_or_deleted(root, model):
    record = _records()[model]
    url = f"/admin/{model}/"
    page = root.get(f"{url}{record.pk}/change/")
    assert page.status_code == 200  # viewable
    assert 'name="_save"' not in page.content.decode()
    assert root.get(f"{url}add/").status_code == 403
    assert root.post(f"{url}{record.pk}/delete/", {"post": "yes"}).status_code == 403
    root.post(url, {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"})
    assert type(record).objects.filter(pk=record.pk).exists()
