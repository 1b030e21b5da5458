"""Admin: notification channels and silences; alerts, notifications and deliveries read-only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from alerts.models import (
    Alert,
    Notification,
    NotificationChannel,
    NotificationDelivery,
    Silence,
)
from dashboard.admin import RecordAdmin
from queues.redact import redact_url


@admin.register(Alert)
class AlertAdmin(RecordAdmin):
    """Acknowledge and resolve on the alert pages, which write the audit log."""

    list_display = ("id", "kind", "severity", "state", "queue", "group", "message_id", "created_at")
    list_filter = ("kind", "severity", "state", "notify_state")
    search_fields = ("queue", "group", "message_id", "event_id", "summary")


class ChannelForm(forms.ModelForm):
    """The webhook secret as a password input: never rendered back into the page; left
    blank on a change, the stored secret is kept."""

    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Signs webhook bodies (HMAC-SHA256). Not shown again; leave blank to keep it.",
    )

    class Meta:
        model = NotificationChannel
        fields = "__all__"

    def clean_secret(self) -> str:
        value = self.cleaned_data.get("secret") or ""
        if not value and self.instance.pk:
            return str(self.instance.secret)
        return str(value)


class SilenceForm(forms.ModelForm):
    """A silence for a queue that does not exist silences nothing: refused."""

    class Meta:
        model = Silence
        fields = "__all__"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The admin splits a date-time into two unlabelled inputs: name each one.
        for name in ("starts_at", "ends_at"):
            field = self.fields.get(name)
            parts = getattr(field.widget, "widgets", ()) if field is not None else ()
            for part, widget in zip(("date", "time"), parts, strict=False):
                widget.attrs["aria-label"] = f"{field.label} ({part})" if field else part

    def clean_queue(self) -> str:
        from alerts.silences import unknown_queue_message

        queue = str(self.cleaned_data.get("queue") or "")
        why = unknown_queue_message(queue)
        if why:
            raise forms.ValidationError(why)
        return queue


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ("name", "backend", "target", "min_severity", "queues", "kinds", "enabled")
    list_filter = ("enabled", "backend", "min_severity")
    fieldsets = (
        (None, {"fields": ("name", "backend", "enabled")}),
        ("Target", {"fields": ("url", "secret", "emails")}),
        ("Filters", {"fields": ("min_severity", "queues", "kinds")}),
    )

    @admin.display(description="target URL", ordering="url")
    def target(self, obj: NotificationChannel) -> str:
        # Webhook URLs often carry a token in their query: not for every staff user's list.
        return redact_url(obj.url)


class DeliveryInline(admin.TabularInline):
    model = NotificationDelivery
    extra = 0
    can_delete = False
    readonly_fields = (
        "channel",
        "attempt",
        "ok",
        "status_code",
        "error",
        "duration_ms",
        "final",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(RecordAdmin):
    list_display = (
        "id",
        "title",
        "kind",
        "queue",
        "severity",
        "count",
        "created_at",
        "enqueued_at",
    )
    list_filter = ("kind", "severity", "resolved")
    inlines = [DeliveryInline]


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(RecordAdmin):
    list_display = (
        "notification",
        "channel",
        "attempt",
        "ok",
        "status_code",
        "final",
        "created_at",
    )
    list_filter = ("ok", "final", "channel")


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    form = SilenceForm
    list_display = (
        "__str__",
        "queue",
        "group",
        "kind",
        "severity",
        "created_by",
        "starts_at",
        "ends_at",
        "active",
    )
    list_filter = ("kind", "severity")
    search_fields = ("queue", "group", "comment")
    readonly_fields = ("created_by", "created_at")

    @admin.display(boolean=True)
    def active(self, obj: Silence) -> bool:
        return obj.starts_at <= timezone.now() < obj.ends_at

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        now = timezone.now()
        return {"starts_at": now, "ends_at": now + timedelta(hours=2)}

    def save_model(self, request: HttpRequest, obj: Silence, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
