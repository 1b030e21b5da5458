"""What Django's error reports (the debug page, error mails) may show of settings and request.

Django hides settings whose names look secret (KEY, TOKEN, PASS ...). Redis URLs carry
passwords and name internal hosts, and the channel layer lists them under ``hosts``, so every
``*_URL``, the channel layer, cache locations and ``hosts`` are hidden too; any other string
that is a URL goes through the one redactor (``queues.redact``).
"""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

from queues.redact import redact_url


class SecretsHidingFilter(SafeExceptionReporterFilter):
    """Django's filter, also hiding URLs, channel-layer hosts and cache locations."""

    hidden_settings = re.compile(
        r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URL|CHANNEL_LAYERS|^HOSTS$|LOCATION",
        flags=re.IGNORECASE,
    )

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str) and "://" in cleansed:
            return redact_url(cleansed)
        return cleansed
