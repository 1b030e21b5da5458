"""Operator pages and the unauthenticated health probe. Views stay thin."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dashboard import entries, selectors, services
from dashboard.catalog.models import QueueDefinition
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
    """Overview of every watched queue; rows update live over the websocket."""
    search = request.GET.get("q", "")[:200]
    status = request.GET.get("status", "")
    if status not in selectors.STATUSES:
        status = ""
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 1
    found: selectors.OverviewPage | None = None
    try:
        found = selectors.overview_page(search=search, status=status, page=page)
        rows, error = found.rows, ""
    except selectors.REDIS_ERRORS as exc:
        rows, error = [], f"Redis unreachable ({type(exc).__name__})"
    return render(
        request,
        "dashboard/home.html",
        {
            "rows": rows,
            "found": found,
            "search": search,
            "status": status,
            "statuses": selectors.STATUSES,
            "error": error,
            "monitor": selectors.monitor_state(),
            "sparklines": {row.name: row.sparkline for row in rows},
        },
    )


def queue_page(request: HttpRequest, name: str) -> HttpResponse:
    """One queue: history charts, groups, consumers, pending, dead letters, actions."""
    definition = selectors.queue_get(name=name)
    try:
        detail, error = selectors.queue_detail(definition=definition), ""
    except selectors.REDIS_ERRORS as exc:
        detail, error = None, f"Redis unreachable ({type(exc).__name__})"
    browse, browse_error = None, ""
    if definition.is_plain and detail is not None:
        try:
            browse = entries.entry_page(
                definition=definition,
                before=request.GET.get("before", ""),
                after=request.GET.get("after", ""),
                entry=request.GET.get("entry", ""),
                payloads=request.user.has_perm(services.VIEW_PAYLOADS),
            )
        except entries.BadEntryId as exc:
            browse_error = str(exc)
        except selectors.REDIS_ERRORS as exc:
            browse_error = f"Entries unreadable ({type(exc).__name__}: {exc})"[:300]
    # Plain streams are watched read-only: no action buttons for them.
    can_operate = request.user.has_perm(services.OPERATE) and not definition.is_plain
    can_destroy = request.user.has_perm(services.DESTROY) and not definition.is_plain
    return render(
        request,
        "dashboard/queue.html",
        {
            "definition": definition,
            "detail": detail,
            "error": error,
            "monitor": selectors.monitor_state(),
            "browse": browse,
            "browse_error": browse_error,
            "can_operate": can_operate,
            "can_destroy": can_destroy,
            "can_view_payloads": request.user.has_perm(services.VIEW_PAYLOADS),
            "audit": selectors.audit_entries(target_prefix=definition.name),
            "ranges": list(selectors.RANGES),
            "page_config": {
                "name": definition.name,
                "canOperate": can_operate,
                "canDestroy": can_destroy,
                "plain": definition.is_plain,
                "api": f"/api/queues/{quote(definition.name, safe='')}/",
            },
        },
    )


def audit_filters(request: HttpRequest) -> selectors.AuditFilters:
    return selectors.AuditFilters(
        user=request.GET.get("user", "").strip(),
        action=request.GET.get("action", "").strip(),
        queue=request.GET.get("queue", "").strip(),
    )


def audit_page(request: HttpRequest) -> HttpResponse:
    """Every operator action, newest first, filtered by user, action and queue."""
    filters = audit_filters(request)
    page = Paginator(selectors.audit_log(filters=filters), selectors.AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = {k: v for k, v in vars(filters).items() if v}
    return render(
        request,
        "dashboard/audit.html",
        {"page": page, "filters": filters, "query": query, **selectors.audit_choices()},
    )


def find_page(request: HttpRequest) -> HttpResponse:
    """Find a message: ``?id=<entry id>`` (and ``queue``): where it is now, alerts naming it."""
    entry_id = request.GET.get("id", "").strip()
    queue = request.GET.get("queue", "").strip()
    result, error = None, ""
    if entry_id and not selectors.is_entry_id(entry_id):
        error = "An entry id looks like 1700000000000-0 (milliseconds, a dash, a sequence)."
    elif entry_id:
        result = selectors.find_message(entry_id=entry_id, queue=queue)
    return render(
        request,
        "dashboard/find.html",
        {
            "entry_id": entry_id,
            "queue": queue,
            "result": result,
            "error": error,
            "queues": list(
                QueueDefinition.objects.order_by("name").values_list("name", flat=True)[:1000]
            ),
            "search_all_max": selectors.SEARCH_ALL_MAX,
        },
    )
