"""Settings for the test suite: fast hashing, a throwaway database, no real mail."""

from __future__ import annotations

import os

import dj_database_url

from .base import *  # noqa: F403
from .base import BASE_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / '.data' / 'test.sqlite3'}")
    )
}
# Tests point REDIS_URL and CHANNEL_LAYERS at their own redis-server (tests/conftest.py).
