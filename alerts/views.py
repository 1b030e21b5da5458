"""Alerts pages and JSON API. Views parse input, call one selector/service, choose a reply."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from alerts.exceptions import AlertStateError
from alerts.models import Alert, AlertKind, AlertState, Severity
from alerts.selectors import FILTERS, alert_as_dict, alert_list
from alerts.services import alert_acknowledge, alert_resolve
from dashboard.api_auth import api_view

PERMISSION = "alerts.change_alert"
ACTIONS: dict[str, Callable[..., Alert]] = {
    "acknowledge": alert_acknowledge,
    "resolve": alert_resolve,
}
CHOICES = {
    "kind": AlertKind.values,
    "severity": Severity.values,
    "state": AlertState.values,
}


def _filters(request: HttpRequest) -> tuple[dict[str, str], dict[str, str]]:
    """(filters, errors) from the query string; unknown choice values are errors."""
    filters = {name: request.GET.get(name, "").strip() for name in FILTERS}
    errors = {
        name: f"unknown {name} {filters[name]!r}; one of {', '.join(values)}"
        for name, values in CHOICES.items()
        if filters[name] and filters[name] not in values
    }
    return filters, errors


def _limit(request: HttpRequest) -> int:
    try:
        return max(1, min(500, int(request.GET.get("limit", "200"))))
    except ValueError:
        return 200


def message_link(alert: Alert) -> str:
    """Path of the queue page entry of the alert's message (dashboard team's /queues/<name>/)."""
    if not (alert.queue and alert.message_id):
        return ""
    anchor = "dead" if alert.kind == AlertKind.DEAD_LETTERED else "pending"
    # queue and message id come from Redis: encoded, so "/" or "#" cannot change the target
    return f"/queues/{quote(alert.queue, safe='')}/#{anchor}-{quote(alert.message_id, safe='')}"


# -- pages ---------------------------------------------------------------------------------


@require_GET
def alerts_page(request: HttpRequest) -> HttpResponse:
    filters, errors = _filters(request)
    valid = {k: ("" if k in errors else v) for k, v in filters.items()}
    alerts = alert_list(
        queue=valid["queue"], kind=valid["kind"], severity=valid["severity"], state=valid["state"]
    )
    return render(
        request,
        "alerts/list.html",
        {
            "alerts": alerts,
            "filters": filters,
            "errors": errors,
            "selects": [
                ("kind", AlertKind.choices, filters["kind"]),
                ("severity", Severity.choices, filters["severity"]),
                ("state", AlertState.choices, filters["state"]),
            ],
            "can_change": request.user.has_perm(PERMISSION),
        },
    )


@require_GET
def alert_page(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk)
    return render(
        request,
        "alerts/detail.html",
        {
            "alert": alert,
            "message_link": message_link(alert),
            "can_change": request.user.has_perm(PERMISSION),
        },
    )


@require_POST
def alert_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if not request.user.has_perm(PERMISSION):
        return HttpResponse("You may not change alerts.", status=403)
    alert = get_object_or_404(Alert, pk=pk)
    try:
        ACTIONS[action](alert=alert, user=request.user)
    except AlertStateError as exc:
        return HttpResponse(str(exc), status=409)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = ""
    return redirect(target) if target else redirect("alerts:detail", pk=alert.pk)


# -- JSON API: session (CSRF on writes) or "Authorization: Token <key>"; 401 / 403 JSON ----


@api_view()
def api_alerts(request: HttpRequest) -> JsonResponse:
    filters, errors = _filters(request)
    if errors:
        return JsonResponse({"error": "bad filter", "fields": errors}, status=400)
    alerts = alert_list(
        queue=filters["queue"],
        kind=filters["kind"],
        severity=filters["severity"],
        state=filters["state"],
        limit=_limit(request),
    )
    return JsonResponse(
        {
            "filters": filters,
            "results": [{**alert_as_dict(a), "message_link": message_link(a)} for a in alerts],
        }
    )


@api_view()
def api_alert(request: HttpRequest, pk: int) -> JsonResponse:
    alert = Alert.objects.filter(pk=pk).first()
    if alert is None:
        return JsonResponse({"error": f"no alert {pk}"}, status=404)
    return JsonResponse({**alert_as_dict(alert), "message_link": message_link(alert)})


@api_view(methods=("POST",))
def api_alert_action(request: HttpRequest, pk: int, action: str) -> JsonResponse:
    if not request.user.has_perm(PERMISSION):
        return JsonResponse({"error": f"permission {PERMISSION} required"}, status=403)
    alert = Alert.objects.filter(pk=pk).first()
    if alert is None:
        return JsonResponse({"error": f"no alert {pk}"}, status=404)
    try:
        alert = ACTIONS[action](alert=alert, user=request.user)
    except AlertStateError as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    return JsonResponse(alert_as_dict(alert))
