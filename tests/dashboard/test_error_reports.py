"""Debug is off unless asked for, and no error report shows Redis URLs, hosts or tokens.

A request with a bad Host header (DNS rebinding: a hostile page that resolves its own name to
127.0.0.1) gets Django's debug page when DEBUG is on, with the settings in it; the same
settings are in the error mails Django sends with DEBUG off.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.test import Client
from django.views.debug import get_default_exception_reporter_filter

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_DEFAULT_KEY = "dev-insecure-streamwarden-key-change-me"


def _base_settings(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "dashboard.settings.base", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_debug_is_off_and_the_secret_key_is_not_public_unless_configured():
    out = _base_settings(
        "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"
    )
    debug, key = out.split(" ", 1)
    assert debug == "False"
    assert key != PUBLIC_DEFAULT_KEY and len(key) >= 50


def test_debug_can_be_turned_on_explicitly():
    out = _base_settings("from django.conf import settings; print(settings.DEBUG)", DEBUG="1")
    assert out == "True"


def _hostile_settings(settings) -> None:
    settings.DEBUG = True
    settings.REDIS_URL = "redis://:hunter2@10.9.8.7:6379/0"
    settings.STREAMWARDEN_NOTIFICATIONS_REDIS_URL = (
        "redis+sentinel://10.9.8.7:26379/mymaster?sentinel_password=hunter3"
    )
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://10.9.8.7:6379/1"], "prefix": "sw"},
        }
    }
    settings.STREAMWARDEN_METRICS_TOKEN = "tok-hunter4"
    settings.SOME_SERVICE_ENDPOINT = "https://svc.example/?auth=hunter5"


def test_the_bad_host_debug_page_leaks_no_redis_url_host_or_token(settings):
    _hostile_settings(settings)

    response = Client().get("/login/", HTTP_HOST="rebind.attacker.example")

    assert response.status_code == 400
    page = response.content.decode()
    assert "DisallowedHost" in page  # it is the debug page ...
    for secret in ("hunter2", "hunter3", "hunter4", "hunter5", "10.9.8.7"):
        assert secret not in page, secret  # ... without the secrets


def test_error_reports_hide_urls_channel_layer_hosts_and_tokens(settings):
    _hostile_settings(settings)

    shown = repr(get_default_exception_reporter_filter().get_safe_settings())

    for secret in ("hunter2", "hunter3", "hunter4", "hunter5", "10.9.8.7"):
        assert secret not in shown, secret
