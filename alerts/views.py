"""Alerts pages and JSON API. Views parse input, call one selector/service, choose a reply."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from alerts.exceptions import AlertStateError, SilenceError
from alerts.models import Alert, AlertKind, AlertState, Severity
from alerts.selectors import (
    FILTERS,
    alert_as_dict,
    alert_counts,
    alert_groups,
    alert_list,
    alert_queryset,
    alerts_paged,
    notification_status,
)
from alerts.services import BULK_FROM, alert_acknowledge, alert_resolve, alerts_bulk
from alerts.silences import DURATIONS, describe, silence_create
from dashboard.api_auth import api_view

PERMISSION = "alerts.change_alert"
SILENCE_PERMISSION = "alerts.add_silence"
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


def known_queues() -> list[str]:
    """Queue names for the filter's suggestions (the filter itself takes any text)."""
    from dashboard.catalog.models import QueueDefinition

    return list(QueueDefinition.objects.order_by("name").values_list("name", flat=True)[:1000])


def _page_number(request: HttpRequest) -> int:
    try:
        return int(request.GET.get("page", "1"))
    except ValueError:
        return 1


@require_GET
def alerts_page(request: HttpRequest) -> HttpResponse:
    filters, errors = _filters(request)
    valid = {k: ("" if k in errors else v) for k, v in filters.items()}
    page = alerts_paged(filters=valid, number=_page_number(request))
    counts = alert_counts(filters=valid)
    query = {k: v for k, v in valid.items() if v}
    return render(
        request,
        "alerts/list.html",
        {
            "alerts": page.alerts,
            "page": page,
            "severity_counts": [
                (v, label, counts["severity"].get(v, 0)) for v, label in Severity.choices
            ],
            "state_counts": [
                (v, label, counts["state"].get(v, 0)) for v, label in AlertState.choices
            ],
            "groups": alert_groups(filters=valid),
            "query": urlencode(query),
            "filters": filters,
            "errors": errors,
            "selects": [
                ("kind", AlertKind.choices, filters["kind"]),
                ("severity", Severity.choices, filters["severity"]),
                ("state", AlertState.choices, filters["state"]),
            ],
            "queues": known_queues(),
            "can_change": request.user.has_perm(PERMISSION),
            "can_silence": request.user.has_perm(SILENCE_PERMISSION),
            "durations": DURATIONS,
        },
    )


@require_POST
def alerts_bulk_page(request: HttpRequest) -> HttpResponse:
    """The page's bulk form: the selected rows (``ids``) or ``scope=all`` matching the
    filters it carries; one audit entry; back to the list with the result."""
    if not request.user.has_perm(PERMISSION):
        return HttpResponse("You may not change alerts.", status=403)
    filters = {name: request.POST.get(name, "").strip() for name in FILTERS}
    # "<action>_all": every alert matching the filters; "<action>": the selected rows
    action, _, scope = request.POST.get("action", "").partition("_")
    try:
        ids = None if scope == "all" else _ids(request.POST.getlist("ids"))
        if action not in BULK_FROM:
            raise ValueError(f"unknown action {action!r}")
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        count = alerts_bulk(user=request.user, action=action, filters=filters, ids=ids)
        verb = "Acknowledged" if action == "acknowledge" else "Resolved"
        messages.success(request, f"{verb} {count} alert{'' if count == 1 else 's'}.")
    query = urlencode({k: v for k, v in filters.items() if v})
    return redirect(reverse("alerts:list") + (f"?{query}" if query else ""))


def _ids(values: list[str]) -> list[int]:
    if not values:
        raise ValueError("Select at least one alert, or act on all that match the filter.")
    try:
        return [int(v) for v in values]
    except ValueError:
        raise ValueError("Alert ids are numbers.") from None


def detail_items(details: Any) -> list[tuple[str, str, bool]]:
    """An alert's details as (label, text, multiline): readable key/value pairs, nested
    values as indented JSON; never a Python repr."""
    if not isinstance(details, dict):
        return [("value", json.dumps(details, indent=2, ensure_ascii=False, default=str), True)]
    out = []
    for key, value in details.items():
        if isinstance(value, str):
            out.append((str(key), value, "\n" in value))
        elif value is None or isinstance(value, bool | int | float):
            out.append((str(key), json.dumps(value), False))
        else:
            out.append(
                (str(key), json.dumps(value, indent=2, ensure_ascii=False, default=str), True)
            )
    return out


@require_GET
def alert_page(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk)
    return render(
        request,
        "alerts/detail.html",
        {
            "alert": alert,
            "details": detail_items(alert.details),
            "message_link": message_link(alert),
            "notification_status": notification_status(alert=alert),
            "can_change": request.user.has_perm(PERMISSION),
            "can_silence": request.user.has_perm(SILENCE_PERMISSION),
            "durations": DURATIONS,
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
        # said on the page the operator came from, not on a bare error page
        messages.error(request, str(exc))
    else:
        done = "acknowledged" if action == "acknowledge" else "resolved"
        messages.success(request, f"Alert {alert.pk} {done}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = ""
    return redirect(target) if target else redirect("alerts:detail", pk=alert.pk)


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = ""
    return redirect(target or fallback)


@require_POST
def silence_page(request: HttpRequest) -> HttpResponse:
    """Silence this from an alert, an alert row or a group of rows: mutes notifications of
    that queue / group / kind for a chosen duration; back to the page with the result."""
    if not request.user.has_perm(SILENCE_PERMISSION):
        return HttpResponse("You may not create silences.", status=403)
    values = {
        name: request.POST.get(name, "").strip()
        for name in ("queue", "group", "kind", "duration", "comment")
    }
    try:
        alert_id = int(request.POST["alert"]) if request.POST.get("alert") else None
    except ValueError:
        alert_id = None
    try:
        silence = silence_create(user=request.user, alert_id=alert_id, **values)
    except SilenceError as exc:
        messages.error(request, " ".join([str(exc), *(f"{k}: {v}" for k, v in exc.fields.items())]))
    else:
        what = describe(queue=silence.queue, group=silence.group, kind=silence.kind)
        messages.success(
            request,
            f"Silenced {what} until {silence.ends_at:%Y-%m-%d %H:%M} UTC: alerts are still "
            "recorded, their notifications are not sent.",
        )
    return _back(request, reverse("alerts:list"))


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
        group=filters["group"],
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
    return JsonResponse(
        {
            **alert_as_dict(alert),
            "message_link": message_link(alert),
            "notification_status": notification_status(alert=alert),
        }
    )


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


@api_view(methods=("POST",))
def api_alerts_bulk(request: HttpRequest) -> JsonResponse:
    """``{"action": "acknowledge"|"resolve", "ids": [..] | "all", <filters>}``: one update,
    one audit entry; answers the count."""
    if not request.user.has_perm(PERMISSION):
        return JsonResponse({"error": f"permission {PERMISSION} required"}, status=403)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse(
            {"error": "invalid input", "fields": {"body": ["Invalid JSON."]}}, status=400
        )
    if not isinstance(body, dict):
        return JsonResponse(
            {"error": "invalid input", "fields": {"body": ["A JSON object."]}}, status=400
        )
    fields: dict[str, list[str]] = {}
    action = body.get("action")
    if action not in BULK_FROM:
        fields["action"] = [f"One of {', '.join(BULK_FROM)}."]
    raw_ids = body.get("ids")
    ids: list[int] | None = None
    if raw_ids != "all":
        if (
            not isinstance(raw_ids, list)
            or not raw_ids
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in raw_ids)
        ):
            fields["ids"] = [
                'A non-empty list of alert ids, or "all" (every alert matching the filters).'
            ]
        else:
            ids = raw_ids
    filters = {name: body.get(name) or "" for name in FILTERS}
    for name, value in filters.items():
        if not isinstance(value, str):
            fields[name] = ["Text."]
        elif name in CHOICES and value and value not in CHOICES[name]:
            fields[name] = [f"One of {', '.join(CHOICES[name])}."]
    if fields:
        return JsonResponse({"error": "invalid input", "fields": fields}, status=400)
    count = alerts_bulk(user=request.user, action=str(action), filters=filters, ids=ids)
    return JsonResponse({"ok": True, "action": action, "count": count})


@api_view()
def api_alerts_summary(request: HttpRequest) -> JsonResponse:
    """Counts by severity and state, the grouped view and the total for the filters: what
    the alerts page re-reads (debounced) when alerts change live."""
    filters, errors = _filters(request)
    if errors:
        return JsonResponse({"error": "bad filter", "fields": errors}, status=400)
    groups = alert_groups(filters=filters)
    return JsonResponse(
        {
            "total": alert_queryset(**filters).count(),
            "counts": alert_counts(filters=filters),
            "groups": [
                {
                    "queue": g.queue,
                    "kind": g.kind,
                    "group": g.group,
                    "count": g.count,
                    "open": g.open,
                    "first_seen": g.first_seen.isoformat(),
                    "last_seen": g.last_seen.isoformat(),
                }
                for g in groups
            ],
        }
    )
