"""Settings for the test suite: fast hashing, a throwaway database, no real mail."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url

from .base import *  # noqa: F403
from .base import BASE_DIR, SQLITE_OPTIONS

# One key for the test process and the servers it starts (base settings draw a random key per
# process, and sessions made here must be valid there). Test settings only, never deployed.
SECRET_KEY = os.environ.get("SECRET_KEY") or "streamwarden-test-settings-only-key"
CHANNEL_LAYERS = layer_settings(REDIS_URL, SECRET_KEY)  # noqa: F405 - the same key in every process
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests of the monitor and the pages read what would have been sent from the in-memory
# backend, which production does not allow.
STREAMWARDEN_NOTIFICATION_BACKENDS = [
    "alerts.backends.webhook.WebhookBackend",
    "alerts.backends.email.EmailBackend",
    "alerts.backends.locmem.LocmemBackend",
]
# The tests' webhook receivers listen on plain http on loopback, which production refuses;
# the attack tests take this allowance away to show the refusal.
STREAMWARDEN_WEBHOOK_ALLOW_HTTP = True
STREAMWARDEN_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / '.data' / 'test.sqlite3'}")
    )
}
# Tests point REDIS_URL and CHANNEL_LAYERS at their own redis-server (tests/conftest.py).
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not Django's shared-cache in-memory test database: there a lock conflict with a
    # test's background thread (notifier, monitor) fails at once ("table is locked"); with a
    # file, WAL, IMMEDIATE transactions and the busy timeout (base settings) it waits.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"streamwarden-test-{os.getpid()}.sqlite3")
    }
    DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS
