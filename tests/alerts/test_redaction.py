"""A Redis URL with secrets in it reaches no person and no alert row with its secrets.

Secrets ride in the userinfo and in query parameters (``?password=``, and
``?sentinel_password=``, a documented form of Sentinel URLs). Wherever an alert's Redis is
stored, shown or sent — the alert row (URL, fingerprint, summary), ``/api/alerts/``, the alert
page, the live websocket, webhook bodies, emails, admin lists — only the redacted URL appears.
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from alerts.backends import locmem
from alerts.dispatch import dispatch_due
from alerts.models import Alert, AlertKind, NotificationChannel
from alerts.notifier import Notifier
from alerts.services import set_redis_reachable, sync_status_alert
from dashboard.asgi import application
from dashboard.catalog.models import QueueDefinition

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "hunter2"
#: Unreachable on purpose (port 1); both secret forms of a Sentinel URL.
SENTINEL_URL = f"redis+sentinel://:{SECRET}-a@127.0.0.1:1/mymaster/0?sentinel_password={SECRET}-b"
QUERY_URL = f"redis://127.0.0.1:1/0?db=0&password={SECRET}-c"


def rows() -> str:
    return json.dumps(list(Alert.objects.values()), default=str)


def superuser_client() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "x"))
    return client


def deliver_available() -> None:
    consumer = Notifier(name="n", concurrency=1, handle_signals=False).consumer
    try:
        consumer.run(burst=True)
    finally:
        consumer.close()


@pytest.mark.parametrize("url", [SENTINEL_URL, QUERY_URL])
def test_an_unreachable_redis_alert_keeps_and_shows_no_secret(url, webhook_receiver):
    NotificationChannel.objects.create(name="mem", backend="alerts.backends.locmem.LocmemBackend")
    NotificationChannel.objects.create(
        name="mail", backend="alerts.backends.email.EmailBackend", emails="ops@example.com"
    )
    NotificationChannel.objects.create(
        name="hook",
        backend="alerts.backends.webhook.WebhookBackend",
        url=webhook_receiver.url,
        secret="k",
    )

    set_redis_reachable(redis_url=url, reachable=False, error="ConnectionError: refused")

    alert = Alert.objects.get()
    assert SECRET not in rows()
    assert "127.0.0.1:1" in alert.redis_url and "***" in alert.redis_url
    client = superuser_client()
    for page in (
        "/api/alerts/",
        f"/api/alerts/{alert.pk}/",
        f"/alerts/{alert.pk}/",
        "/alerts/",
        "/admin/alerts/alert/",
        f"/admin/alerts/alert/{alert.pk}/change/",
    ):
        response = client.get(page)
        assert response.status_code == 200, page
        assert SECRET not in response.content.decode(), page

    assert dispatch_due() == 1
    deliver_available()
    assert locmem.outbox and mail.outbox and webhook_receiver.received
    assert SECRET not in json.dumps([m.payload for m in locmem.outbox])
    assert SECRET not in mail.outbox[0].subject + mail.outbox[0].body
    assert SECRET not in webhook_receiver.received[0].body.decode()


def test_the_same_redis_still_has_one_alert_which_recovery_resolves():
    set_redis_reachable(redis_url=SENTINEL_URL, reachable=False, error="down")
    set_redis_reachable(redis_url=SENTINEL_URL, reachable=False, error="still down")
    assert Alert.objects.filter(state="open").count() == 1

    set_redis_reachable(redis_url=SENTINEL_URL, reachable=True)

    assert Alert.objects.get().state == "resolved"


def test_a_status_alert_of_a_queue_on_a_secret_url_keeps_no_secret():
    QueueDefinition.objects.create(name="orders", queue="orders", redis_url=SENTINEL_URL)

    sync_status_alert(
        kind=AlertKind.THRESHOLD, queue="orders", group="billing", status="alert", details={}
    )

    assert Alert.objects.count() == 1
    assert SECRET not in rows()


def test_the_queue_definitions_admin_list_shows_no_secret():
    QueueDefinition.objects.create(name="orders", queue="orders", redis_url=SENTINEL_URL)

    content = superuser_client().get("/admin/queues/queuedefinition/").content.decode()

    assert "127.0.0.1:1" in content
    assert SECRET not in content


async def test_the_live_websocket_pushes_no_secret():
    user = await database_sync_to_async(get_user_model().objects.create_user)("ops", password="p")
    client = Client()
    await database_sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(
        application,
        "/ws/live/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie)],
    )
    connected, _ = await communicator.connect()
    assert connected
    try:
        await database_sync_to_async(set_redis_reachable)(
            redis_url=QUERY_URL, reachable=False, error="down"
        )
        while True:
            message = await communicator.receive_json_from(timeout=10)
            if message["type"] == "alert.update":
                break
        assert message["data"]["kind"] == "redis_unreachable"
        assert SECRET not in json.dumps(message)
    finally:
        await communicator.disconnect()


def test_rows_written_raw_by_older_versions_are_redacted_by_the_migration():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("alerts.migrations.0004_redact_alert_urls")
    other = SENTINEL_URL.replace(f"{SECRET}-a", f"{SECRET}-z")
    for url in (SENTINEL_URL, other):  # the same Redis under two passwords
        Alert.objects.create(
            kind=AlertKind.REDIS_UNREACHABLE,
            redis_url=url,
            fingerprint=f"redis_unreachable:{url}",
            summary=f"Redis unreachable: {url}",
            status="down",
        )
    Alert.objects.create(kind=AlertKind.THRESHOLD, queue="orders", redis_url=QUERY_URL)

    migration.redact_alerts(apps, None)

    assert SECRET not in rows()
    assert Alert.objects.filter(state="open", kind=AlertKind.REDIS_UNREACHABLE).count() == 1


def test_the_notification_channels_admin_list_shows_no_webhook_token():
    NotificationChannel.objects.create(
        name="hook",
        backend="alerts.backends.webhook.WebhookBackend",
        url=f"https://hooks.example.com/in?token={SECRET}-d",
        secret="k",
    )

    content = superuser_client().get("/admin/alerts/notificationchannel/").content.decode()

    assert "hooks.example.com" in content
    assert SECRET not in content
