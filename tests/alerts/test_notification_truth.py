"""The alert page tells what became of a notification, truthfully (issue 16): no channel
matched, silenced, or sent to N channels — never "Sent" for a notification nobody got."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts.backends import locmem
from alerts.models import Alert, Silence
from alerts.services import sync_status_alert
from tests.alerts.test_notifications import _run_pipeline, later, locmem_channel

pytestmark = pytest.mark.django_db(transaction=True)


def _page(client, django_user_model, alert: Alert) -> str:
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-tests-1"))
    return client.get(f"/alerts/{alert.pk}/").content.decode()


def _status(page: str) -> str:
    return page.split('id="notification-status">', 1)[1].split("<", 1)[0]


def test_an_alert_no_channel_takes_says_so(client, django_user_model) -> None:
    locmem_channel(queues="billing")  # a channel for another queue only
    alert = sync_status_alert(kind="threshold", queue="q", group="g", status="alert", details={})
    _run_pipeline()
    assert alert is not None
    assert locmem.outbox == []
    assert _status(_page(client, django_user_model, alert)) == "No channel matched"


def test_an_alert_delivered_says_to_how_many_channels(client, django_user_model) -> None:
    locmem_channel(name="a")
    locmem_channel(name="b")
    locmem_channel(name="c", queues="billing")  # not this one
    alert = sync_status_alert(kind="threshold", queue="q", group="g", status="alert", details={})
    _run_pipeline()
    assert alert is not None and len(locmem.outbox) == 2
    assert _status(_page(client, django_user_model, alert)) == "Sent to 2 channels"


def test_a_silenced_alert_says_silenced(client, django_user_model) -> None:
    locmem_channel()
    Silence.objects.create(
        kind="threshold", comment="known", starts_at=timezone.now(), ends_at=later()
    )
    alert = sync_status_alert(kind="threshold", queue="q", group="g", status="alert", details={})
    _run_pipeline()
    assert alert is not None
    assert _status(_page(client, django_user_model, alert)) == "Silenced"


def test_notifications_link_absolutely_to_the_alert_when_the_site_url_is_set(settings) -> None:
    settings.STREAMWARDEN_SITE_URL = "https://sw.example.com/"
    locmem_channel()
    alert = sync_status_alert(kind="threshold", queue="q", group="g", status="alert", details={})
    _run_pipeline()
    assert alert is not None
    assert [m.payload["url"] for m in locmem.outbox] == [
        f"https://sw.example.com/alerts/{alert.pk}/"
    ]
