"""API authentication: the session (with CSRF on writes) or ``Authorization: Token <key>``.

Anonymous callers get 401 JSON, callers without the permission 403 JSON — an API never
redirects to the login page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from dashboard.models import ApiToken

View = Callable[..., HttpResponse]


def _token(request: HttpRequest) -> ApiToken | None:
    """The usable token the request presents (expired or revoked ones count as none)."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() not in {"token", "bearer"} or not key.strip():
        return None
    token = ApiToken.lookup(key.strip())
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def _csrf_failure(request: HttpRequest) -> HttpResponse | None:
    """Run Django's CSRF check for a session-authenticated write (token auth skips it)."""
    check = CsrfViewMiddleware(lambda r: HttpResponse())
    check.process_request(request)
    return check.process_view(request, lambda r: HttpResponse(), (), {})


def error(status: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def api_view(*, methods: tuple[str, ...] = ("GET",)) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            token = _token(request)
            via_token = token is not None
            user = token.user if token is not None else None
            if user is None and request.user.is_authenticated:
                user = request.user
            if user is None:
                response = error(401, "authentication required")
                response["WWW-Authenticate"] = 'Token realm="streamwarden"'
                return response
            if request.method not in methods:
                return error(405, f"method {request.method} not allowed", allowed=list(methods))
            safe = request.method in ("GET", "HEAD", "OPTIONS")
            if token is not None and token.read_only and not safe:
                return error(403, "this token is read-only")
            if not safe and not via_token:
                failure = _csrf_failure(request)
                if failure is not None:
                    return error(403, "CSRF check failed")
            request.user = user
            return view(request, *args, **kwargs)

        return csrf_exempt(login_not_required(wrapper))

    return decorate
