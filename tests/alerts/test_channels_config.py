"""Channel configuration: clear form errors for bad targets, a system check for bad backends."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core import checks
from django.test import Client

from alerts.checks import check_channel_backends, check_notifications_redis_url, check_settings
from alerts.models import NotificationChannel

pytestmark = pytest.mark.django_db

ADD = "/admin/alerts/notificationchannel/add/"


@pytest.fixture
def admin_client_() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "x"))
    return client


def post_channel(client: Client, **fields: str):
    data = {
        "name": "ops",
        "backend": "alerts.backends.webhook.WebhookBackend",
        "url": "",
        "secret": "",
        "emails": "",
        "min_severity": "warn",
        "queues": "",
        "kinds": "",
        "enabled": "on",
        **fields,
    }
    return client.post(ADD, data)


def errors_of(response) -> dict[str, list[str]]:
    form = response.context["adminform"].form
    return {k: list(v) for k, v in form.errors.items()}


def test_webhook_with_a_bad_url_is_refused_with_a_clear_error(admin_client_) -> None:
    response = post_channel(admin_client_, url="ftp//nowhere", secret="k")
    assert response.status_code == 200
    assert errors_of(response) == {
        "url": [
            "'ftp//nowhere' is not a valid http(s) URL; enter e.g. https://hooks.example.com/streamwarden."
        ]
    }
    assert "is not a valid http(s) URL" in response.content.decode()
    assert not NotificationChannel.objects.exists()


def test_webhook_without_url_or_secret_is_refused(admin_client_) -> None:
    errors = errors_of(post_channel(admin_client_))
    assert errors["url"] == ["A webhook channel needs a target URL (https://)."]
    assert errors["secret"] == ["A webhook channel needs a secret to sign its requests."]


def test_email_channel_without_recipients_is_refused(admin_client_) -> None:
    response = post_channel(admin_client_, backend="alerts.backends.email.EmailBackend")
    assert errors_of(response) == {
        "emails": ["An email channel needs at least one recipient address."]
    }
    response = post_channel(
        admin_client_, backend="alerts.backends.email.EmailBackend", emails="ops@example.com, nope"
    )
    assert errors_of(response) == {"emails": ["Not a valid email address: nope."]}


def test_unknown_backend_and_kind_are_refused(admin_client_) -> None:
    errors = errors_of(
        post_channel(admin_client_, backend="alerts.backends.pager.Nope", kinds="claimed, oops")
    )
    assert (
        "Notification backend 'alerts.backends.pager.Nope' is not allowed" in errors["backend"][0]
    )
    assert errors["kinds"][0].startswith("Unknown kind(s) oops")


def test_valid_channels_are_saved(admin_client_) -> None:
    response = post_channel(admin_client_, url="https://hooks.example.com/sw", secret="k")
    assert response.status_code == 302
    response = post_channel(
        admin_client_,
        name="mail",
        backend="alerts.backends.email.EmailBackend",
        emails="ops@example.com\nsre@example.com",
    )
    assert response.status_code == 302
    assert NotificationChannel.objects.get(name="mail").email_list == [
        "ops@example.com",
        "sre@example.com",
    ]


def test_system_check_E001_names_a_channel_with_an_unknown_backend() -> None:
    NotificationChannel.objects.create(name="broken", backend="nowhere.Backend")
    NotificationChannel.objects.create(name="off", backend="nowhere.Backend", enabled=False)
    errors = check_channel_backends()
    assert [e.id for e in errors] == ["alerts.E001"]
    assert "'broken'" in errors[0].msg and "nowhere.Backend" in errors[0].msg
    assert isinstance(errors[0], checks.Error) and errors[0].hint


def test_system_check_E002_refuses_a_non_positive_window(settings) -> None:
    settings.STREAMWARDEN_ALERTS_GROUP_WINDOW = "soon"
    assert [e.id for e in check_settings()] == ["alerts.E002"]


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster",
        "redis+cluster://127.0.0.1:7000,127.0.0.1:7001",
    ],
)
def test_system_check_E003_accepts_every_library_url_form(settings, url: str) -> None:
    settings.STREAMWARDEN_NOTIFICATIONS_REDIS_URL = url
    assert check_notifications_redis_url() == []


def test_system_check_E003_names_an_unknown_notifications_url_scheme(settings) -> None:
    settings.STREAMWARDEN_NOTIFICATIONS_REDIS_URL = "sentinel://:pw@127.0.0.1:26379/mymaster"
    (error,) = check_notifications_redis_url()
    assert error.id == "alerts.E003"
    assert "'sentinel://'" in error.msg and "pw" not in error.msg
    assert "redis+sentinel://" in (error.hint or "")
