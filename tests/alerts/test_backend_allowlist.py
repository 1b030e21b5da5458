"""Notification backends come from an allowlist; nothing outside it is imported.

The backend of a channel is a dotted path typed by an admin. Importing it to check it runs
the module's top-level code in the web process, so a path that is not on
``STREAMWARDEN_NOTIFICATION_BACKENDS`` is refused before anything is imported.
"""

from __future__ import annotations

import sys

import pytest
from django.core.exceptions import ValidationError

from alerts.backends import get_backend_class
from alerts.backends.locmem import LocmemBackend
from alerts.exceptions import BackendConfigurationError
from alerts.models import NotificationChannel

PROBE = "tests.support.import_probe"


@pytest.fixture(autouse=True)
def _probe_not_imported():
    sys.modules.pop(PROBE, None)
    yield
    sys.modules.pop(PROBE, None)


def test_a_backend_outside_the_allowlist_is_refused_without_importing_its_module():
    with pytest.raises(BackendConfigurationError, match="STREAMWARDEN_NOTIFICATION_BACKENDS"):
        get_backend_class(f"{PROBE}.ProbeBackend")
    assert PROBE not in sys.modules


@pytest.mark.django_db
def test_the_admin_form_refuses_a_module_path_without_running_it():
    # What an admin with change_notificationchannel could type: any importable module.
    channel = NotificationChannel(name="evil", backend=f"{PROBE}.IMPORTED")
    with pytest.raises(ValidationError) as caught:
        channel.full_clean()
    assert "backend" in caught.value.message_dict
    assert "STREAMWARDEN_NOTIFICATION_BACKENDS" in caught.value.message_dict["backend"][0]
    assert PROBE not in sys.modules


def test_a_backend_added_to_the_allowlist_is_used(settings):
    settings.STREAMWARDEN_NOTIFICATION_BACKENDS = [
        "alerts.backends.webhook.WebhookBackend",
        f"{PROBE}.ProbeBackend",
    ]
    backend = get_backend_class(f"{PROBE}.ProbeBackend")
    assert issubclass(backend, LocmemBackend)


def test_an_allowlisted_path_that_is_not_a_backend_is_still_refused(settings):
    settings.STREAMWARDEN_NOTIFICATION_BACKENDS = [f"{PROBE}.IMPORTED"]
    with pytest.raises(BackendConfigurationError, match="not a subclass"):
        get_backend_class(f"{PROBE}.IMPORTED")


def test_the_default_allowlist_holds_the_webhook_and_email_backends(settings):
    del settings.STREAMWARDEN_NOTIFICATION_BACKENDS
    for path in ("alerts.backends.webhook.WebhookBackend", "alerts.backends.email.EmailBackend"):
        assert get_backend_class(path).__name__ == path.rsplit(".", 1)[1]
    with pytest.raises(BackendConfigurationError):
        get_backend_class("alerts.backends.locmem.LocmemBackend")
