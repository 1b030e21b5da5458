"""Admin forms operators use (issue 17): a silence names a known queue, the webhook secret
is a password input that is never shown again, count thresholds are whole numbers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import NotificationChannel, Silence
from dashboard.catalog.models import QueueDefinition, Threshold

pytestmark = pytest.mark.django_db

SECRET = "s3cret-value-123"


@pytest.fixture
def admin(django_user_model) -> Client:
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", "", "pw-for-tests-1"))
    return client


def _silence(queue: str) -> dict[str, str]:
    now = timezone.now()
    return {
        "queue": queue,
        "kind": "",
        "severity": "",
        "comment": "maintenance",
        "starts_at_0": now.strftime("%Y-%m-%d"),
        "starts_at_1": now.strftime("%H:%M:%S"),
        "ends_at_0": (now + timedelta(hours=1)).strftime("%Y-%m-%d"),
        "ends_at_1": (now + timedelta(hours=1)).strftime("%H:%M:%S"),
    }


def test_a_silence_for_an_unknown_queue_is_refused(admin) -> None:
    QueueDefinition.objects.create(name="orders", queue="orders")
    response = admin.post("/admin/alerts/silence/add/", _silence("ordres"))
    assert response.status_code == 200
    assert "No queue named &#x27;ordres&#x27;. Known queues: orders." in response.content.decode()
    assert not Silence.objects.exists()
    ok = admin.post("/admin/alerts/silence/add/", _silence("orders"))
    assert ok.status_code == 302 and Silence.objects.get().queue == "orders"
    anywhere = admin.post("/admin/alerts/silence/add/", _silence(""))
    assert anywhere.status_code == 302 and Silence.objects.count() == 2


def _channel_form(channel: NotificationChannel, secret: str) -> dict[str, str]:
    return {
        "name": channel.name,
        "backend": channel.backend,
        "enabled": "on",
        "url": channel.url,
        "secret": secret,
        "emails": "",
        "min_severity": "warn",
        "queues": "",
        "kinds": "",
    }


def test_the_webhook_secret_is_a_password_input_never_shown_and_kept_when_blank(admin) -> None:
    channel = NotificationChannel.objects.create(
        name="hook",
        backend="alerts.backends.webhook.WebhookBackend",
        url="https://hooks.example.com/x",
        secret=SECRET,
    )
    url = f"/admin/alerts/notificationchannel/{channel.pk}/change/"
    page = admin.get(url).content.decode()
    assert re.search(r'<input type="password" name="secret"', page)
    assert SECRET not in page
    response = admin.post(url, _channel_form(channel, ""))
    assert response.status_code == 302, response.content.decode()[:2000]
    channel.refresh_from_db()
    assert channel.secret == SECRET
    admin.post(url, _channel_form(channel, "rotated-secret-456"))
    channel.refresh_from_db()
    assert channel.secret == "rotated-secret-456"


def test_count_thresholds_are_whole_numbers_in_the_admin(admin) -> None:
    row = Threshold.objects.create(lag_warn=1000, lag_alert=5000, oldest_pending_warn=2.5)
    page = admin.get(f"/admin/queues/threshold/{row.pk}/change/").content.decode()
    assert 'name="lag_warn" value="1000"' in page and "1000.0" not in page
    assert 'name="oldest_pending_warn" value="2.5"' in page  # seconds keep fractions
    listing = admin.get("/admin/queues/threshold/").content.decode()
    assert ">1000<" in listing and "1000.0" not in listing
    form = {
        "queue": "",
        "lag_warn": "10.5",
        "lag_alert": "5000",
        "oldest_pending_warn": "2.5",
    }
    response = admin.post(f"/admin/queues/threshold/{row.pk}/change/", form)
    assert response.status_code == 200 and "Enter a whole number." in response.content.decode()
    row.refresh_from_db()
    assert row.lag_warn == 1000


def test_the_backend_is_chosen_from_the_allowed_list(admin, settings) -> None:
    settings.STREAMWARDEN_NOTIFICATION_BACKENDS = [
        "alerts.backends.webhook.WebhookBackend",
        "alerts.backends.email.EmailBackend",
    ]
    page = admin.get("/admin/alerts/notificationchannel/add/").content.decode()
    select = re.search(r'<select name="backend"[^>]*>(.*?)</select>', page, re.S)
    assert select, "a list, not a text field"
    assert re.findall(r'<option value="([^"]+)"', select.group(1)) == [
        "alerts.backends.webhook.WebhookBackend",
        "alerts.backends.email.EmailBackend",
    ]
    # a channel saved before the allowlist changed keeps showing what it has
    old = NotificationChannel.objects.create(
        name="old", backend="alerts.backends.locmem.LocmemBackend"
    )
    page = admin.get(f"/admin/alerts/notificationchannel/{old.pk}/change/").content.decode()
    assert "alerts.backends.locmem.LocmemBackend (no longer allowed)" in page
