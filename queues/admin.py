"""Admin for queue definitions and thresholds, with discovery of streams already in Redis."""

from __future__ import annotations

from typing import Any

import redis
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from queues.models import QueueDefinition, Threshold
from queues.redact import redact_url


class ThresholdInline(admin.StackedInline):
    model = Threshold
    extra = 0
    max_num = 1
    can_delete = True
    verbose_name = "Threshold override"


def discover_undefined(redis_url: str) -> list[str]:
    """Queue names the library knows on ``redis_url`` that have no definition yet."""
    from dashboard.monitor.library import manager_for

    known = set(QueueDefinition.objects.values_list("queue", flat=True)) | set(
        QueueDefinition.objects.values_list("name", flat=True)
    )
    return [name for name in manager_for(redis_url).queues() if name not in known]


@admin.register(QueueDefinition)
class QueueDefinitionAdmin(admin.ModelAdmin):
    list_display = ("name", "queue_name", "redis_display", "groups", "enabled", "updated_at")
    list_filter = ("enabled",)
    search_fields = ("name", "queue", "notes")
    inlines = [ThresholdInline]
    actions = ["enable", "disable"]

    @admin.display(description="Redis URL", ordering="redis_url")
    def redis_display(self, obj: QueueDefinition) -> str:
        # Lists are seen by every staff user; the URL may carry passwords.
        return redact_url(obj.redis_url)

    change_list_template = "admin/queues/queuedefinition/change_list.html"

    @admin.action(description="Enable monitoring of the selected queues")
    def enable(self, request: HttpRequest, queryset: Any) -> None:
        queryset.update(enabled=True)

    @admin.action(description="Disable monitoring of the selected queues")
    def disable(self, request: HttpRequest, queryset: Any) -> None:
        queryset.update(enabled=False)

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
        """List streams in Redis without a definition; adopt the ticked ones."""
        if not self.has_add_permission(request):
            return HttpResponse("You may not add queue definitions.", status=403)
        from dashboard import conf

        redis_url = request.POST.get("redis_url") or request.GET.get("redis_url") or ""
        if request.method == "POST":
            names = request.POST.getlist("adopt")
            created = [
                QueueDefinition.objects.get_or_create(
                    name=name, defaults={"queue": name, "redis_url": redis_url}
                )[0]
                for name in names
                if name
            ]
            messages.success(request, f"Adopted {len(created)} queue(s).")
            return HttpResponseRedirect(reverse("admin:queues_queuedefinition_changelist"))
        error = ""
        try:
            found = discover_undefined(redis_url or conf.redis_url())
        except (redis.RedisError, OSError) as exc:
            found, error = [], f"Redis unreachable: {type(exc).__name__}"
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Discover queues in Redis",
            "found": found,
            "error": error,
            "redis_url": redis_url,
        }
        return TemplateResponse(request, "admin/queues/queuedefinition/discover.html", context)


@admin.register(Threshold)
class ThresholdAdmin(admin.ModelAdmin):
    list_display = ("__str__", "lag_warn", "lag_alert", "active_consumers_alert", "updated_at")
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
