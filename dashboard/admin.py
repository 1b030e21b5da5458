"""Admin for the dashboard's own records (read-mostly)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from dashboard.models import ApiToken, AuditLog, LoginThrottle, MetricSnapshot, MonitorState


class RecordAdmin(admin.ModelAdmin):
    """A record of what happened: viewable, never added, changed or deleted in the admin — not
    even by a superuser. Changes go through services that write the audit log (an alert is
    acknowledged or resolved on its page) or through retention jobs."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditLog)
class AuditLogAdmin(RecordAdmin):
    list_display = ("at", "username", "action", "target", "ok")
    list_filter = ("action", "ok")
    search_fields = ("username", "target")


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(RecordAdmin):
    list_display = ("queue", "resolution", "at", "length", "lag", "pending", "status", "trend")
    list_filter = ("resolution", "status")
    search_fields = ("queue",)


@admin.register(MonitorState)
class MonitorStateAdmin(RecordAdmin):
    list_display = ("key", "holder", "last_cycle_at", "redis_ok", "poll_ms", "poll_commands")


@admin.register(LoginThrottle)
class LoginThrottleAdmin(RecordAdmin):
    """Failed-login counts; deleting a row unlocks that username or address at once."""

    list_display = ("scope", "key", "failures", "window_start", "locked_until")
    list_filter = ("scope",)
    search_fields = ("key",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin.ModelAdmin.has_delete_permission(self, request, obj)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens act as their user, so the user is never a free choice: a token is issued to
    whoever asks for it (a superuser may name another user), and never moves afterwards.
    Staff who are not superusers see and manage only their own tokens."""

    list_display = (
        "name",
        "user",
        "prefix",
        "read_only",
        "expires_at",
        "created_at",
        "last_used_at",
    )
    list_filter = ("read_only",)
    readonly_fields = ("prefix", "created_at", "last_used_at")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ["name", "read_only", "expires_at", "prefix", "created_at", "last_used_at"]
        if obj is not None or _is_superuser(request):
            fields.insert(0, "user")
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is not None:
            return ("user", *self.readonly_fields)
        return tuple(self.readonly_fields)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"user": request.user.pk}

    def get_queryset(self, request: HttpRequest) -> Any:
        tokens = super().get_queryset(request)
        return tokens if _is_superuser(request) else tokens.filter(user=request.user.pk)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            owner: Any = obj.user if _is_superuser(request) and obj.user_id else request.user
            token, key = ApiToken.issue(
                user=owner, name=obj.name, expires_at=obj.expires_at, read_only=obj.read_only
            )
            for field in ApiToken._meta.concrete_fields:  # the admin goes on with ``obj``
                setattr(obj, field.attname, getattr(token, field.attname))
            _audit(request, "token.issue", token)
            messages.warning(request, f"Token key (shown once): {key}")
            return
        super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        _audit(request, "token.revoke", obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for token in queryset.select_related("user"):
            _audit(request, "token.revoke", token)
        super().delete_queryset(request, queryset)


def _audit(request: HttpRequest, action: str, token: ApiToken) -> None:
    """Who issued or revoked which user's token: a token acts as that user."""
    AuditLog.objects.create(
        user=request.user if request.user.is_authenticated else None,
        username=request.user.get_username(),
        action=action,
        target=token.user.get_username(),
        details={
            "name": token.name,
            "prefix": token.prefix,
            "read_only": token.read_only,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
    )


def _is_superuser(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_superuser", False))
