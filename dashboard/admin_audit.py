"""Admin changes in the audit log: every Django admin LogEntry (add, change, delete of queue
definitions, thresholds, channels, silences, tokens, users …) becomes an AuditLog row with
the user, what was edited and the admin's change message.

Single entries arrive through LogEntry's post_save (connected in ``dashboard.signals``);
the admin writes the entries of a bulk delete with ``bulk_create``, which sends no signal,
so admins that delete in bulk use ``AuditedDeletions``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db.models import Model

from dashboard.models import AuditLog

VERBS = {ADDITION: "add", CHANGE: "change", DELETION: "delete"}
#: Models whose admin writes its own audit entries (token.issue / token.revoke): not twice.
SELF_AUDITED = {("dashboard", "apitoken")}


def _target(entry: LogEntry, obj: Model | None) -> str:
    """Audit targets use the queue page's shapes ("<queue>", "<queue>/…"), so a queue's own
    changes show in its page's audit section; other objects are "<model>:<name>"."""
    model = entry.content_type.model if entry.content_type_id else "object"
    name = str(entry.object_repr)
    if model == "queuedefinition":
        return str(getattr(obj, "name", name))
    if model == "threshold":
        queue = getattr(obj, "queue", None) if obj is not None else None
        return f"{queue.name}/thresholds" if queue is not None else "thresholds"
    if model == "silence":
        queue = getattr(obj, "queue", "") if obj is not None else ""
        return f"{queue}/silence:{entry.object_id}" if queue else f"silence:{entry.object_id}"
    if model == "notificationchannel":
        return f"channel:{name}"
    return f"{model}:{name}"


def audit_admin_entry(entry: LogEntry) -> AuditLog | None:
    """The AuditLog row of one admin LogEntry (None for a model that audits itself)."""
    if entry.content_type_id and (
        (entry.content_type.app_label, entry.content_type.model) in SELF_AUDITED
    ):
        return None
    try:
        obj = entry.get_edited_object()
    except Exception:  # noqa: BLE001 - gone (a delete), or a model without a default manager
        obj = None
    user = entry.user if entry.user_id else None
    model = (
        f"{entry.content_type.app_label}.{entry.content_type.model}"
        if entry.content_type_id
        else ""
    )
    return AuditLog.objects.create(
        user=user,
        username=user.get_username() if user is not None else "",
        action=f"admin.{VERBS.get(entry.action_flag, 'change')}",
        target=_target(entry, obj)[:500],
        details={
            "model": model,
            "object": entry.object_repr,
            "object_id": entry.object_id,
            "change": entry.get_change_message() or VERBS.get(entry.action_flag, ""),
        },
    )


class AuditedDeletions:
    """ModelAdmin mixin: the entries of a bulk delete reach the audit log too."""

    def log_deletions(self, request: Any, queryset: Any) -> Any:
        entries = super().log_deletions(request, queryset)  # type: ignore[misc]
        if len(entries) > 1:  # one entry is saved (post_save did it); more are bulk-created
            for entry in entries:
                audit_admin_entry(entry)
        return entries
