"""JSON API: everything the pages show and do. Thin: parse, call a selector/service, answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from dashboard import entries, selectors, services
from dashboard.api_auth import api_view, error
from dashboard.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from dashboard.metrics import render_metrics, stored_view
from dashboard.selectors import REDIS_ERRORS
from queues.exceptions import ConsumerBusy


def _redis_guard(call: Callable[[], HttpResponse]) -> HttpResponse:
    try:
        return call()
    except REDIS_ERRORS as exc:
        return error(503, "Redis unreachable", detail=type(exc).__name__)


def _body(request: HttpRequest) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise ValidationError({"body": "Invalid JSON."}) from exc
        if not isinstance(data, dict):
            raise ValidationError({"body": "A JSON object is expected."})
        return data
    # A form may repeat a field (ids=1-0&ids=2-0): keep every value, not just the last.
    return {k: v[0] if len(v) == 1 else v for k, v in request.POST.lists()}


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _flag(body: dict[str, Any], key: str) -> bool:
    """A boolean field: absent is False; true/false (JSON or the usual spellings) else 400.

    ``bool("false")`` is True, so a string is never taken for its truthiness."""
    value = body.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValidationError({key: "true or false."})


@api_view()
def queue_list(request: HttpRequest) -> HttpResponse:
    """Enabled queues by name, a page at a time: ``?q=`` (name contains), ``?status=``
    (ok, warn, alert), ``?page=``, ``?per_page=`` (default 500, at most 1000)."""
    try:
        page = int(request.GET.get("page", "1"))
        per_page = int(request.GET.get("per_page", "500"))
    except ValueError:
        return error(400, "page and per_page must be integers")
    status = request.GET.get("status", "")
    if status and status not in selectors.STATUSES:
        return error(400, f"status must be one of {', '.join(selectors.STATUSES)}")

    def page_json() -> HttpResponse:
        found = selectors.overview_page(
            search=request.GET.get("q", ""), status=status, page=page, per_page=per_page
        )
        return JsonResponse(
            {
                "queues": selectors.rows_as_json(found.rows),
                "total": found.total,
                "page": found.page,
                "pages": found.pages,
                "per_page": found.per_page,
            }
        )

    return _redis_guard(page_json)


@api_view()
def queue_detail(request: HttpRequest, name: str) -> HttpResponse:
    definition = selectors.queue_get(name=name)
    return _redis_guard(lambda: JsonResponse(selectors.queue_detail(definition=definition)))


@api_view()
def queue_history(request: HttpRequest, name: str) -> HttpResponse:
    selectors.queue_get(name=name)
    return JsonResponse(
        selectors.queue_history(name=name, range_key=request.GET.get("range", "1h"))
    )


@api_view()
def queue_pending(request: HttpRequest, name: str) -> HttpResponse:
    definition = selectors.queue_get(name=name)
    group = request.GET.get("group", "")
    if not group:
        return error(400, "the group parameter is required")
    return _redis_guard(
        lambda: JsonResponse(
            {
                "group": group,
                "pending": selectors.pending_entries(
                    definition=definition,
                    group=group,
                    payloads=request.user.has_perm(services.VIEW_PAYLOADS),
                ),
            }
        )
    )


@api_view()
def queue_locate(request: HttpRequest, name: str) -> HttpResponse:
    """``?id=<entry id>``: where that entry is now (stream, pending lists, dead letters)."""
    definition = selectors.queue_get(name=name)
    entry_id = request.GET.get("id", "")
    if not _is_id(entry_id) or "-" not in entry_id:
        return error(400, "invalid input", fields={"id": ["An entry id like 1700000000000-0."]})
    return _redis_guard(
        lambda: JsonResponse(selectors.locate_entry(definition=definition, entry_id=entry_id))
    )


@api_view()
def queue_entries(request: HttpRequest, name: str) -> HttpResponse:
    """Entries of a plain stream, newest first: ?before=ID / ?after=ID pages, ?id=ID finds one."""
    definition = selectors.queue_get(name=name)
    if not definition.is_plain:
        return error(404, "entries are browsed for plain streams only")
    try:
        page = _redis_guard(
            lambda: JsonResponse(
                entries.entry_page(
                    definition=definition,
                    before=request.GET.get("before", ""),
                    after=request.GET.get("after", ""),
                    entry=request.GET.get("id", ""),
                    payloads=request.user.has_perm(services.VIEW_PAYLOADS),
                )
            )
        )
    except entries.BadEntryId as exc:
        return error(400, str(exc))
    return page


@api_view()
def queue_dead_letters(request: HttpRequest, name: str) -> HttpResponse:
    """``?before=<dead id>`` (older page), ``?at=<dead id>`` or ``?original=<original id>``
    (the page starting at that dead letter), ``?count=`` (1–200, default 50)."""
    definition = selectors.queue_get(name=name)
    cursors = {k: request.GET.get(k, "") for k in ("before", "at", "original")}
    bad = {
        k: ["An entry id like 1700000000000-0."] for k, v in cursors.items() if v and not _is_id(v)
    }
    try:
        count = int(request.GET.get("count", "50"))
        if not 1 <= count <= 200:
            raise ValueError
    except ValueError:
        bad["count"] = ["A number from 1 to 200."]
    if bad:
        return error(400, "invalid input", fields=bad)

    def page() -> HttpResponse:
        found = selectors.dead_letter_page(
            definition=definition,
            count=count,
            payloads=request.user.has_perm(services.VIEW_PAYLOADS),
            **cursors,
        )
        return JsonResponse({"dead_letters": None} if found is None else found)

    return _redis_guard(page)


def _is_id(value: str) -> bool:
    head, _, tail = value.partition("-")
    return head.isdigit() and len(value) <= 41 and (not tail or tail.isdigit())


@api_view()
def queue_trim_risk(request: HttpRequest, name: str) -> HttpResponse:
    """Would trimming to ``?maxlen=N`` drop undelivered or unacknowledged entries?"""
    definition = selectors.queue_get(name=name)
    raw = request.GET.get("maxlen", "") or (
        str(definition.maxlen) if definition.maxlen is not None else ""
    )
    if not raw.isdigit():
        return error(400, "maxlen: a non-negative integer is required")
    return _redis_guard(
        lambda: JsonResponse(selectors.trim_risk(definition=definition, maxlen=int(raw)))
    )


@api_view()
def audit(request: HttpRequest) -> HttpResponse:
    """The audit log (newest first), filtered like /audit/: ?user=&action=&queue=."""
    from dashboard.views import audit_filters

    entries = selectors.audit_log(filters=audit_filters(request))[: selectors.AUDIT_PAGE_SIZE]
    return JsonResponse({"entries": [selectors.audit_as_json(e) for e in entries]})


@api_view()
def monitor(request: HttpRequest) -> HttpResponse:
    return JsonResponse(selectors.monitor_state())


def _action(
    request: HttpRequest, name: str, run: Callable[[Any, dict[str, Any]], Any]
) -> HttpResponse:
    try:
        definition = selectors.queue_get(name=name)
    except Http404:
        return error(404, f"no queue {name!r}")
    try:
        result = run(definition, _body(request))
    except PermissionDenied as exc:
        return error(403, str(exc) or "permission denied")
    except ValidationError as exc:
        return error(400, "invalid input", fields=getattr(exc, "message_dict", {"": exc.messages}))
    except services.ActionFailed as exc:
        # Redis down: 503; the library refused (group exists, consumer busy, …): 409.
        unavailable = isinstance(exc.__cause__, REDIS_ERRORS)
        extra = {}
        if isinstance(exc.__cause__, ConsumerBusy):
            # the count at refusal time, for the page's dialog (never a stale one)
            extra["pending"] = exc.__cause__.pending
        return error(503 if unavailable else 409, str(exc), **extra)
    return JsonResponse({"ok": True, "result": result if isinstance(result, int | str) else None})


def _text(body: dict[str, Any], key: str) -> str:
    """A name or id field: text exactly as sent (a list or number is refused, not str()'d)."""
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ValidationError({key: "Text is required."})
    return value


def _ids(body: dict[str, Any]) -> list[str] | None:
    """The dead letters an action is for: a non-empty list of ids, or None for the exact
    word "all". Anything else — missing, empty, null — is refused: "all" is never implied."""
    ids = body.get("ids")
    if ids == "all":
        return None
    if isinstance(ids, str):
        ids = [i.strip() for i in ids.split(",") if i.strip()]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ValidationError({"ids": 'A non-empty list of entry ids, or "all".'})
    return ids


@api_view(methods=("POST",))
def group_create(request: HttpRequest, name: str) -> HttpResponse:
    return _action(
        request,
        name,
        lambda d, b: services.group_create(
            user=request.user,
            definition=d,
            group=_text(b, "group"),
            start=_text(b, "start") if b.get("start") not in (None, "") else "$",
        ),
    )


@api_view(methods=("POST",))
def group_watch(request: HttpRequest, name: str) -> HttpResponse:
    return _action(
        request,
        name,
        lambda d, b: services.group_watch(user=request.user, definition=d, group=_text(b, "group")),
    )


# Group and consumer names come in the body, never in the path: a name may hold "/" (and
# the server decodes %2F before routing), so "billing/consumers/worker-1" in a path would
# reach another endpoint.


@api_view(methods=("POST",))
def group_delete(request: HttpRequest, name: str) -> HttpResponse:
    return _action(
        request,
        name,
        lambda d, b: services.group_delete(
            user=request.user, definition=d, group=_text(b, "group")
        ),
    )


@api_view(methods=("POST",))
def group_set_id(request: HttpRequest, name: str) -> HttpResponse:
    return _action(
        request,
        name,
        lambda d, b: services.group_set_id(
            user=request.user, definition=d, group=_text(b, "group"), entry_id=_text(b, "id")
        ),
    )


@api_view(methods=("POST",))
def consumer_delete(request: HttpRequest, name: str) -> HttpResponse:
    return _action(
        request,
        name,
        lambda d, b: services.consumer_delete(
            user=request.user,
            definition=d,
            group=_text(b, "group"),
            consumer=_text(b, "consumer"),
            force=_flag(b, "force"),
            hand_to=_text(b, "hand_to") if b.get("hand_to") not in (None, "") else None,
            confirm=str(b["confirm"]) if isinstance(b.get("confirm"), str) else "",
        ),
    )


@api_view(methods=("POST",))
def queue_trim(request: HttpRequest, name: str) -> HttpResponse:
    return _action(
        request,
        name,
        lambda d, b: services.queue_trim(user=request.user, definition=d),
    )


@api_view(methods=("POST",))
def queue_purge(request: HttpRequest, name: str) -> HttpResponse:
    return _action(
        request,
        name,
        lambda d, b: services.queue_purge(user=request.user, definition=d, dead=_flag(b, "dead")),
    )


@api_view(methods=("POST",))
def dead_letters_replay(request: HttpRequest, name: str) -> HttpResponse:
    return _action(
        request,
        name,
        lambda d, b: services.dead_letters_replay(user=request.user, definition=d, ids=_ids(b)),
    )


@api_view(methods=("POST",))
def dead_letters_delete(request: HttpRequest, name: str) -> HttpResponse:
    return _action(
        request,
        name,
        lambda d, b: services.dead_letters_delete(user=request.user, definition=d, ids=_ids(b)),
    )


@api_view()
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; needs a session or ``Authorization: Token <key>``. Reads the
    monitor's stored view only (no Redis command per scrape)."""
    view = stored_view(selectors.monitor_state())
    return HttpResponse(render_metrics(view), content_type=METRICS_CONTENT_TYPE)
