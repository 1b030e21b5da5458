"""Login throttling: too many failed logins for one username, or from one client address,
within a window lock further logins of that username / from that address for a while — the
right password included, so guessing cannot go on in the background.

Counts live in the database (``LoginThrottle``), shared by every web process; Django's default
cache is per process. The check sits in an authentication backend, so the dashboard login, the
admin login and any other ``authenticate()`` call are covered; the login forms show why.

Settings (seconds / counts): ``STREAMWARDEN_LOGIN_FAILURES_PER_USER`` (5),
``STREAMWARDEN_LOGIN_FAILURES_PER_ADDRESS`` (20), ``STREAMWARDEN_LOGIN_WINDOW`` (900),
``STREAMWARDEN_LOGIN_LOCKOUT`` (900), and ``STREAMWARDEN_CLIENT_ADDRESS_HEADER`` — the header
your reverse proxy sets to the client's address (e.g. ``X-Real-IP``; for ``X-Forwarded-For``
the last address is used, the one your proxy appended); unset = the socket's REMOTE_ADDR.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from dashboard.models import LoginThrottle

MAX_KEY = 200


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _limits() -> dict[str, int]:
    return {
        LoginThrottle.USER: _setting("STREAMWARDEN_LOGIN_FAILURES_PER_USER", 5),
        LoginThrottle.ADDRESS: _setting("STREAMWARDEN_LOGIN_FAILURES_PER_ADDRESS", 20),
    }


def client_address(request: HttpRequest | None) -> str:
    """The client's address: the proxy's header when configured, else REMOTE_ADDR."""
    if request is None:
        return ""
    header = getattr(settings, "STREAMWARDEN_CLIENT_ADDRESS_HEADER", "")
    if header:
        value = request.headers.get(header, "")
        # X-Forwarded-For lists every hop; only the last one was written by our proxy
        last = value.split(",")[-1].strip()
        if last:
            return last[:MAX_KEY]
    return str(request.META.get("REMOTE_ADDR", ""))[:MAX_KEY]


def _keys(username: str, request: HttpRequest | None) -> list[tuple[str, str]]:
    keys = [(LoginThrottle.USER, username[:MAX_KEY])] if username else []
    address = client_address(request)
    if address:
        keys.append((LoginThrottle.ADDRESS, address))
    return keys


def locked_for(username: str, request: HttpRequest | None) -> float:
    """Seconds until a login of ``username`` from this request's address may be tried; 0 = now."""
    now = timezone.now()
    until: datetime | None = None
    for scope, key in _keys(username, request):
        row = LoginThrottle.objects.filter(scope=scope, key=key, locked_until__gt=now).first()
        if row is not None and row.locked_until is not None:
            until = max(until, row.locked_until) if until else row.locked_until
    return (until - now).total_seconds() if until else 0.0


def record_failure(username: str, request: HttpRequest | None) -> None:
    """Count one failed login against the username and the address; lock at the limit."""
    now = timezone.now()
    window = timedelta(seconds=_setting("STREAMWARDEN_LOGIN_WINDOW", 900))
    lockout = timedelta(seconds=_setting("STREAMWARDEN_LOGIN_LOCKOUT", 900))
    limits = _limits()
    with transaction.atomic():
        for scope, key in _keys(username, request):
            row, _ = LoginThrottle.objects.select_for_update().get_or_create(
                scope=scope, key=key, defaults={"window_start": now}
            )
            if now - row.window_start > window:
                row.failures, row.window_start = 0, now
            row.failures += 1
            if row.failures >= limits[scope]:
                # locked: the count starts afresh once the lockout has passed
                row.locked_until, row.failures, row.window_start = now + lockout, 0, now + lockout
            row.save()
        # rows of names and addresses that stopped failing: a spray of made-up names
        # must not grow the table for ever
        LoginThrottle.objects.filter(
            updated_at__lt=now - max(window, lockout), locked_until__isnull=True
        ).delete()
        LoginThrottle.objects.filter(
            updated_at__lt=now - max(window, lockout), locked_until__lt=now
        ).delete()


def record_success(username: str) -> None:
    """A right password clears the username's count (never the address's: an attacker's own
    account must not reset the count of the address they spray from)."""
    LoginThrottle.objects.filter(
        scope=LoginThrottle.USER, key=username[:MAX_KEY], locked_until__isnull=True
    ).delete()


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend behind the throttle: a locked username or address is refused
    before the password is checked; each failure is counted."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        name = str(username if username is not None else kwargs.get("username", "") or "")
        if locked_for(name, request) > 0:
            raise PermissionDenied("too many failed logins")  # stops other backends too
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            record_failure(name, request)
        else:
            record_success(name)
        return user


def lock_message(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Too many failed logins. Try again in {minutes} minute{'s' if minutes > 1 else ''}."


class _ThrottleMessage:
    """Login forms say the login is locked instead of "wrong password"."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        seconds = locked_for(str(self.cleaned_data.get("username") or ""), self.request)
        if seconds > 0:
            raise ValidationError(lock_message(seconds), code="throttled")
        return super().clean()  # type: ignore[misc]


class ThrottledAuthenticationForm(_ThrottleMessage, AuthenticationForm):
    """The dashboard's login form."""


class ThrottledAdminAuthenticationForm(_ThrottleMessage, AdminAuthenticationForm):
    """The admin's login form."""
