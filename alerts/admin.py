"""Admin: notification channels and silences; alerts, notifications and deliveries read-only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from alerts.channels import channel_health, channel_test, describe_delivery
from alerts.models import (
    Alert,
    Notification,
    NotificationChannel,
    NotificationDelivery,
    Silence,
)
from dashboard.admin import RecordAdmin
from dashboard.admin_audit import AuditedDeletions
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Backends are chosen from the allowlist (a list, not a dotted path to type); the
        # model's clean() still refuses anything else, with the setting to change.
        from alerts import conf

        allowed = list(conf.notification_backends())
        choices = [
            (path, f"{path.rsplit('.', 1)[-1].removesuffix('Backend')} ({path})")
            for path in allowed
        ]
        current = str(self.instance.backend or "") if self.instance.pk else ""
        if current and current not in allowed:
            choices.append((current, f"{current} (no longer allowed)"))
        field = self.fields["backend"]
        field.widget = forms.Select(choices=choices)
        field.help_text = "The backends allowed by the STREAMWARDEN_NOTIFICATION_BACKENDS setting."

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
class NotificationChannelAdmin(AuditedDeletions, admin.ModelAdmin):
    """Channels with their health (from the delivery log) and "send a test": an action on
    the list and a button on a channel's page, the result shown in the page."""

    form = ChannelForm
    change_form_template = "admin/alerts/notificationchannel/change_form.html"
    list_display = (
        "name",
        "backend",
        "target",
        "min_severity",
        "queues",
        "kinds",
        "enabled",
        "health",
    )
    list_filter = ("enabled", "backend", "min_severity")
    fieldsets = (
        (None, {"fields": ("name", "backend", "enabled")}),
        ("Target", {"fields": ("url", "secret", "emails")}),
        ("Filters", {"fields": ("min_severity", "queues", "kinds")}),
    )
    actions = ["send_test"]

    @admin.display(description="target URL", ordering="url")
    def target(self, obj: NotificationChannel) -> str:
        # Webhook URLs often carry a token in their query: not for every staff user's list.
        return redact_url(obj.url)

    @admin.display(description="health (delivery log)")
    def health(self, obj: NotificationChannel) -> str:
        h = channel_health(channel=obj)
        if h.last_at is None:
            return format_html(
                '<span class="channel-health" data-state="unknown">{}</span>', "no deliveries yet"
            )
        when = f"{h.last_at:%Y-%m-%d %H:%M:%S} UTC"
        if h.last_ok:
            return format_html(
                '<span class="channel-health" data-state="ok"><strong>✓ ok</strong> · last delivery {}</span>',
                when,
            )
        n = h.consecutive_failures
        since = (
            f", last success {h.last_ok_at:%Y-%m-%d %H:%M:%S} UTC"
            if h.last_ok_at
            else ", never delivered"
        )
        return format_html(
            '<span class="channel-health" data-state="failing"><strong>✗ failing</strong>'
            " · {} failed attempt{} in a row (last {}{})<br>last error: <code>{}</code></span>",
            n,
            "" if n == 1 else "s",
            when,
            since,
            h.last_error[:300] or "—",
        )

    @admin.action(description="Send a test notification", permissions=["change"])
    def send_test(self, request: HttpRequest, queryset: QuerySet[NotificationChannel]) -> None:
        for channel in queryset:
            self._test(request, channel)

    def _test(self, request: HttpRequest, channel: NotificationChannel) -> None:
        delivery = channel_test(user=request.user, channel=channel)
        text = f"Test notification to {channel.name!r}: {describe_delivery(delivery)}."
        if not channel.enabled:
            text += " The channel is disabled: alerts are not sent to it."
        self.message_user(request, text, messages.SUCCESS if delivery.ok else messages.ERROR)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/test/",
                self.admin_site.admin_view(require_POST(self.test_view)),
                name="alerts_notificationchannel_test",
            ),
            *super().get_urls(),
        ]

    def test_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        channel = get_object_or_404(NotificationChannel, pk=pk)
        if not self.has_change_permission(request, channel):
            return HttpResponse("You may not test channels.", status=403)
        self._test(request, channel)
        return HttpResponseRedirect(reverse("admin:alerts_notificationchannel_change", args=[pk]))


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
class SilenceAdmin(AuditedDeletions, admin.ModelAdmin):
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
