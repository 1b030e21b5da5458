"""Production settings: secure cookies, HSTS, SSL redirect; SECRET_KEY must come from the env."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env_bool, layer_settings

try:
    SECRET_KEY = os.environ["SECRET_KEY"]
except KeyError as exc:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set in the environment for production settings "
        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(64))')."
    ) from exc
# Sealed with this key, which every process of the deployment shares.
CHANNEL_LAYERS = layer_settings(REDIS_URL, SECRET_KEY)  # noqa: F405

DEBUG = False
STREAMWARDEN_SERVE_STATIC = env_bool("STREAMWARDEN_SERVE_STATIC", False)

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# /health is probed by load balancers over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
