"""Ends live websockets when the login behind them ends (connected in DashboardConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from dashboard.live import close_sockets

User = get_user_model()


@receiver(user_logged_out, dispatch_uid="streamwarden-close-sockets-on-logout")
def close_session_sockets(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """Logout ends this session only: the user's other browsers keep theirs."""
    session = getattr(request, "session", None)
    # Sent before the session is flushed, so its key is still the one the sockets know.
    key = getattr(session, "session_key", None)
    if key:
        close_sockets(session_key=key)


@receiver(pre_save, sender=User, dispatch_uid="streamwarden-note-password-change")
def note_password_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.pk is None:
        return
    old = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._streamwarden_password_changed = old is not None and old != instance.password


@receiver(post_save, sender=User, dispatch_uid="streamwarden-close-sockets-on-deactivation")
def close_user_sockets(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """A deactivated user, or one whose password changed, loses every live socket.

    After a password change Django keeps only the session that changed it logged in; its
    page reconnects at once, the others are refused.
    """
    if created:
        return
    if not instance.is_active or getattr(instance, "_streamwarden_password_changed", False):
        close_sockets(user_id=instance.pk)


@receiver(post_delete, sender=User, dispatch_uid="streamwarden-close-sockets-on-delete")
def close_deleted_user_sockets(sender: Any, instance: Any, **kwargs: Any) -> None:
    close_sockets(user_id=instance.pk)


@receiver(post_save, sender="admin.LogEntry", dispatch_uid="streamwarden-audit-admin-changes")
def audit_admin_change(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """An admin add / change / delete is an operator action: into the audit log."""
    if created and not kwargs.get("raw"):
        from dashboard.admin_audit import audit_admin_entry

        audit_admin_entry(instance)


@receiver(post_save, sender="dashboard.AuditLog", dispatch_uid="streamwarden-audit-live")
def publish_audit_entry(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """Audit pages (the log and each queue page's section) add new rows live."""
    if not created or kwargs.get("raw"):
        return
    from django.db import transaction

    from dashboard.live import publish
    from dashboard.selectors.audit import audit_as_json

    data = audit_as_json(instance)
    transaction.on_commit(lambda: publish("audit.update", data))
