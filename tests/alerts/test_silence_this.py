"""Silence this from an alert (issue 17): a silence of that queue, group and kind for a
chosen duration, permission-checked, audited, refused for a queue that does not exist; and
a group's silence mutes that group only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from alerts.backends import locmem
from alerts.models import Alert, Silence
from alerts.services import sync_status_alert
from dashboard.catalog.models import QueueDefinition
from dashboard.models import AuditLog
from tests.alerts.test_notifications import _run_pipeline, locmem_channel

pytestmark = pytest.mark.django_db(transaction=True)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _alert() -> Alert:
    return Alert.objects.create(
        kind="claimed", severity="warn", queue="orders", group="billing", message_id="1-0"
    )


def _form(alert: Alert, **changes: str) -> dict[str, str]:
    return {
        "queue": alert.queue,
        "group": alert.group,
        "kind": alert.kind,
        "duration": "4h",
        "comment": "deploying billing",
        "alert": str(alert.pk),
        "next": f"/alerts/{alert.pk}/",
        **changes,
    }


def test_silence_this_needs_the_permission_and_is_audited(django_user_model) -> None:
    QueueDefinition.objects.create(name="orders", queue="orders")
    alert = _alert()
    user = django_user_model.objects.create_user("ana", password="pw-for-tests-1")
    client = _client(user)

    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "Silence…" not in page
    assert client.post("/alerts/silence/", _form(alert)).status_code == 403
    assert not Silence.objects.exists()

    user.user_permissions.add(Permission.objects.get(codename="add_silence"))
    client = _client(django_user_model.objects.get(pk=user.pk))
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "Silence…" in page and 'name="duration"' in page
    before = timezone.now()
    response = client.post("/alerts/silence/", _form(alert), follow=True)
    assert response.redirect_chain[-1][0] == f"/alerts/{alert.pk}/"
    silence = Silence.objects.get()
    assert (silence.queue, silence.group, silence.kind) == ("orders", "billing", "claimed")
    assert silence.starts_at >= before
    assert timedelta(hours=4) <= silence.ends_at - before < timedelta(hours=4, minutes=1)
    assert silence.created_by == user and silence.comment == "deploying billing"
    assert "Silenced queue &#x27;orders&#x27;, group &#x27;billing&#x27;, kind claimed until" in (
        response.content.decode()
    )
    entry = AuditLog.objects.get(action="silence.create")
    assert entry.username == "ana" and entry.target == f"orders/silence:{silence.pk}"
    assert entry.details["alert"] == alert.pk and entry.details["duration"] == "4h"


def test_silence_this_refuses_unknown_queues_and_durations(admin_client) -> None:
    QueueDefinition.objects.create(name="orders", queue="orders")
    alert = _alert()
    gone = _form(alert, queue="ordres")
    page = admin_client.post("/alerts/silence/", gone, follow=True).content.decode()
    assert "No queue named &#x27;ordres&#x27;. Known queues: orders." in page
    page = admin_client.post("/alerts/silence/", _form(alert, duration="99y"), follow=True)
    assert "duration: One of 1h, 4h, 24h, 7d." in page.content.decode()
    page = admin_client.post("/alerts/silence/", _form(alert, queue="", group="", kind=""))
    assert not Silence.objects.exists()
    assert not AuditLog.objects.filter(action="silence.create").exists()


def test_a_group_silence_mutes_that_group_only(admin_client, redis_url) -> None:
    QueueDefinition.objects.create(name="orders", queue="orders")
    locmem_channel()
    alert = _alert()
    admin_client.post("/alerts/silence/", _form(alert, kind="threshold"))
    assert Silence.objects.get().group == "billing"
    for group in ("billing", "shipping"):
        sync_status_alert(kind="threshold", queue="orders", group=group, status="alert", details={})
    _run_pipeline()
    assert [m.payload.get("group") for m in locmem.outbox] == ["shipping"]
    muted = Alert.objects.get(kind="threshold", group="billing")
    assert muted.notify_state == "silenced"
