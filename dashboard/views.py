"""Operator pages and the unauthenticated health probe. Views stay thin."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dashboard.health import probe_database, probe_redis


@require_GET
@never_cache
@login_not_required
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers: no auth, no secrets; 503 when Redis or the database is down."""
    redis_probe = probe_redis()
    db_probe = probe_database()
    healthy = redis_probe.ok and db_probe.ok
    body = {
        "status": "ok" if healthy else "unavailable",
        "redis": "ok" if redis_probe.ok else "down",
        "database": "ok" if db_probe.ok else "down",
    }
    if not redis_probe.ok:
        body["redis_error"] = redis_probe.error
    if not db_probe.ok:
        body["database_error"] = db_probe.error
    return JsonResponse(body, status=200 if healthy else 503)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/home.html")
