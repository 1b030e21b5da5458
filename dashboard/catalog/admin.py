"""Admin for queue definitions and thresholds, with discovery of streams already in Redis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from dashboard import conf
from dashboard.admin_audit import AuditedDeletions
from dashboard.catalog.models import QueueDefinition, Threshold
from queues.connection import CLUSTER_SCHEMES, SENTINEL_SCHEME, SINGLE_SCHEMES, connect
from queues.exceptions import ConfigurationError
from queues.manager import Manager
from queues.redact import redact_url

DISCOVER_TEMPLATE = "admin/queues/queuedefinition/discover.html"


#: Threshold fields that count things (entries, consumers): whole numbers. The model keeps
#: FloatField (oldest_pending is seconds); the form shows and accepts integers for these.
COUNT_FIELDS = tuple(
    f"{metric}_{level}"
    for metric in ("active_consumers", "lag", "pending", "dead_letters")
    for level in ("warn", "alert")
)


class ThresholdForm(forms.ModelForm):
    """Counts as integers ("1000", not "1000.0"); a fraction is refused, not rounded."""

    class Meta:
        model = Threshold
        fields = "__all__"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in COUNT_FIELDS:
            old = self.fields[name]
            self.fields[name] = forms.IntegerField(
                required=False, min_value=0, label=old.label, help_text=old.help_text
            )
            value = self.initial.get(name)
            if isinstance(value, float) and value.is_integer():
                self.initial[name] = int(value)


def _count(value: float | None) -> str:
    return (
        "–" if value is None else f"{value:g}" if not float(value).is_integer() else str(int(value))
    )


class ThresholdInline(admin.StackedInline):
    model = Threshold
    form = ThresholdForm
    extra = 0
    max_num = 1
    can_delete = True
    verbose_name = "Threshold override"


#: Longest URL accepted (the width of QueueDefinition.redis_url).
MAX_REDIS_URL = 500


def redis_url_problem(url: str) -> str:
    """Why ``url`` is not a Redis URL the dashboard may connect to; "" when it is one.

    Discover connects to what an operator typed: only the library's schemes, a host (or a
    socket path), a numeric port, and no whitespace or control characters (which could
    smuggle a second line into a log or a header) are accepted."""
    if len(url) > MAX_REDIS_URL:
        return f"longer than {MAX_REDIS_URL} characters"
    if any(ord(ch) <= 32 or ord(ch) == 127 for ch in url):
        return "contains whitespace or control characters"
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
    except ValueError as exc:
        return f"unparseable ({exc})"
    schemes = (*SINGLE_SCHEMES, SENTINEL_SCHEME, *CLUSTER_SCHEMES)
    if scheme not in schemes:
        return f"the scheme must be one of {', '.join(s + '://' for s in schemes)}"
    if scheme == "unix":
        return "" if parts.path else "a unix:// URL needs a socket path"
    hosts = parts.netloc.rsplit("@", 1)[-1]
    for host in hosts.split(","):
        name, port = (host.rsplit(":", 1) + [""])[:2] if not host.endswith("]") else (host, "")
        if not name.strip("[]"):
            return "a host is missing"
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            return f"bad port {port!r}"
    return ""


#: Streams one Discover page lists at most (SCAN pages: never the whole keyspace at once).
DISCOVER_PAGE = 500


@dataclass(frozen=True)
class Discovered:
    """One Discover page: library queues and plain streams without a definition yet, and
    the cursor of the next page ("0": this was the last)."""

    queues: list[str]
    streams: list[str]
    unaddressable: list[str]  # keys that are not UTF-8: shown, not adoptable
    cursor: str

    @property
    def anything(self) -> bool:
        """Something to show: streams found, or more pages to look at."""
        return bool(self.queues or self.streams or self.unaddressable or self.cursor != "0")


def discover_undefined(redis_url: str, cursor: str = "0") -> Discovered:
    """Streams of ``redis_url`` without a definition: one bounded SCAN page from ``cursor``
    (``Manager.streams``), library queues apart from plain streams; on the first page also
    the queues registered without a stream yet.

    A client of its own, closed after: a URL scanned once must not leave a cached client
    (and its connections) behind in the web process."""
    known_queues = set(QueueDefinition.objects.values_list("queue", flat=True)) | set(
        QueueDefinition.objects.values_list("name", flat=True)
    )
    known_streams = set(QueueDefinition.objects.exclude(stream="").values_list("stream", flat=True))
    manager = Manager(connect(redis_url, retries=0))
    try:
        page = manager.streams("*", DISCOVER_PAGE, cursor=cursor)
        registered = manager.queues() if cursor == "0" else []
    finally:
        manager.client.close()
    queues = dict.fromkeys(registered)
    streams, unaddressable = [], []
    for ref in page:
        if ref.queue is not None:
            queues[ref.queue] = None
        elif isinstance(ref.key, bytes):
            unaddressable.append(ref.name)
        elif ref.key not in known_streams:
            streams.append(ref.key)
    return Discovered(
        queues=sorted(q for q in queues if q not in known_queues),
        streams=sorted(streams),
        unaddressable=sorted(unaddressable),
        cursor=page.cursor,
    )


def stream_definition_name(key: str) -> str:
    """A definition name for stream ``key``: names go in URLs, so no "/" or outer spaces."""
    return key.replace("/", "_").strip()[:200] or "stream"


def adopt(
    *, queues: list[str], streams: list[str], redis_url: str
) -> tuple[list[QueueDefinition], list[str]]:
    """Create definitions for the chosen library queues and plain streams, each validated
    with full_clean() first; returns (the definitions created, why the others were not)."""
    created: list[QueueDefinition] = []
    problems: list[str] = []
    candidates = [QueueDefinition(name=q, queue=q, redis_url=redis_url) for q in queues if q]
    candidates += [
        QueueDefinition(name=stream_definition_name(k), stream=k, redis_url=redis_url)
        for k in streams
        if k
    ]
    for definition in candidates:
        try:
            definition.full_clean()
        except ValidationError as exc:
            messages_ = "; ".join(m for ms in exc.message_dict.values() for m in ms)
            problems.append(f"{definition.queue_name[:80]!r}: {messages_}")
            continue
        definition.save()
        created.append(definition)
    return created, problems


@admin.register(QueueDefinition)
class QueueDefinitionAdmin(AuditedDeletions, admin.ModelAdmin):
    list_display = ("name", "queue_name", "redis_display", "groups", "enabled", "updated_at")
    list_filter = ("enabled",)
    search_fields = ("name", "queue", "stream", "notes")
    inlines = [ThresholdInline]
    actions = ["enable", "disable"]

    @admin.display(description="Redis URL", ordering="redis_url")
    def redis_display(self, obj: QueueDefinition) -> str:
        # Lists are seen by every staff user; the URL may carry passwords.
        return redact_url(obj.redis_url)

    change_list_template = "admin/queues/queuedefinition/change_list.html"

    @admin.action(description="Enable monitoring of the selected queues")
    def enable(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable monitoring of the selected queues")
    def disable(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(request, queryset, False)

    def _set_enabled(self, request: HttpRequest, queryset: Any, enabled: bool) -> None:
        changed = list(queryset.exclude(enabled=enabled))
        queryset.update(enabled=enabled)
        for definition in changed:  # each one in the admin history and the audit log
            self.log_change(request, definition, [{"changed": {"fields": ["Enabled"]}}])

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "discover/",
                self.admin_site.admin_view(self.discover_view),
                name="queues_queuedefinition_discover",
            )
        ]
        return custom + super().get_urls()

    def discover_view(self, request: HttpRequest) -> HttpResponse:
        """List streams in Redis without a definition; adopt the ticked ones.

        Connecting is a side effect, so only a POST (CSRF-checked by the middleware) scans:
        a GET, which any page can make a staff browser send, shows the form and nothing else.
        """
        if not self.has_add_permission(request):
            return HttpResponse("You may not add queue definitions.", status=403)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Discover streams in Redis",
            "page_size": DISCOVER_PAGE,
            "scanned": False,
            "found": None,
            "error": "",
            "redis_url": "",
        }
        if request.method != "POST":
            return TemplateResponse(request, DISCOVER_TEMPLATE, context)
        redis_url = request.POST.get("redis_url", "").strip()
        problem = redis_url_problem(redis_url) if redis_url else ""
        if problem:
            context.update(error=f"Not a Redis URL: {problem}.", redis_url=redis_url)
            return TemplateResponse(request, DISCOVER_TEMPLATE, context, status=400)
        if request.POST.get("action") == "adopt":
            created, problems = adopt(
                queues=request.POST.getlist("adopt"),
                streams=request.POST.getlist("adopt_stream"),
                redis_url=redis_url,
            )
            for definition in created:  # in the audit log, like any definition added here
                self.log_addition(request, definition, "Adopted from Discover streams")
            messages.success(request, f"Adopted {len(created)} queue(s) and stream(s).")
            for problem in problems:
                messages.error(request, f"Not adopted: {problem}")
            return HttpResponseRedirect(reverse("admin:queues_queuedefinition_changelist"))
        cursor = request.POST.get("cursor", "0").strip() or "0"
        found = None
        try:
            found = discover_undefined(redis_url or conf.redis_url(), cursor)
        except ValueError as exc:  # a cursor that is not one (ConfigurationError: below)
            if isinstance(exc, ConfigurationError):
                context["error"] = f"Redis unreachable: {type(exc).__name__}"
            else:
                context["error"] = str(exc)
        except (redis.RedisError, OSError) as exc:
            context["error"] = f"Redis unreachable: {type(exc).__name__}"
        context.update(scanned=True, found=found, redis_url=redis_url)
        return TemplateResponse(request, DISCOVER_TEMPLATE, context)


@admin.register(Threshold)
class ThresholdAdmin(AuditedDeletions, admin.ModelAdmin):
    form = ThresholdForm
    list_display = (
        "__str__",
        "lag_warn_n",
        "lag_alert_n",
        "active_consumers_alert_n",
        "updated_at",
    )

    @admin.display(description="Lag: warn at", ordering="lag_warn")
    def lag_warn_n(self, obj: Threshold) -> str:
        return _count(obj.lag_warn)

    @admin.display(description="Lag: alert at", ordering="lag_alert")
    def lag_alert_n(self, obj: Threshold) -> str:
        return _count(obj.lag_alert)

    @admin.display(description="Active consumers: alert at", ordering="active_consumers_alert")
    def active_consumers_alert_n(self, obj: Threshold) -> str:
        return _count(obj.active_consumers_alert)

    fieldsets = [
        (None, {"fields": ["queue"]}),
        (
            "Active consumers (fewer is worse: warn must be above alert)",
            {"fields": [("active_consumers_warn", "active_consumers_alert")]},
        ),
        (
            "Higher is worse (warn must be below alert)",
            {
                "fields": [
                    ("lag_warn", "lag_alert"),
                    ("pending_warn", "pending_alert"),
                    ("oldest_pending_warn", "oldest_pending_alert"),
                    ("dead_letters_warn", "dead_letters_alert"),
                ]
            },
        ),
    ]
