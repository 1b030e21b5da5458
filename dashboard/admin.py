"""Admin for the dashboard's own records (read-mostly)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from dashboard.models import ApiToken, AuditLog, MetricSnapshot, MonitorState


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "action", "target", "ok")
    list_filter = ("action", "ok")
    search_fields = ("username", "target")
    readonly_fields = [f.name for f in AuditLog._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(admin.ModelAdmin):
    list_display = ("queue", "resolution", "at", "length", "lag", "pending", "status", "trend")
    list_filter = ("resolution", "status")
    search_fields = ("queue",)


@admin.register(MonitorState)
class MonitorStateAdmin(admin.ModelAdmin):
    list_display = ("key", "holder", "last_cycle_at", "redis_ok", "poll_ms", "poll_commands")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at")
    readonly_fields = ("prefix", "created_at", "last_used_at")
    fields = ("user", "name", "prefix", "created_at", "last_used_at")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            token, key = ApiToken.issue(user=obj.user, name=obj.name)
            obj.pk = token.pk
            messages.warning(request, f"Token key (shown once): {key}")
            return
        super().save_model(request, obj, form, change)
