"""Admin for alerts (read mostly), channels, silences and the delivery log."""

from __future__ import annotations

from django.contrib import admin

from alerts.models import Alert


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "severity", "state", "queue", "group", "message_id", "created_at")
    list_filter = ("kind", "severity", "state", "notify_state")
    search_fields = ("queue", "group", "message_id", "event_id", "summary")
    readonly_fields = ("created_at", "updated_at", "acknowledged_at", "resolved_at")
