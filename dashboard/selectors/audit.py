"""The audit log: operator actions, filtered and paged, and the filters' choices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from django.db.models import Q, QuerySet

from dashboard.catalog.models import QueueDefinition
from dashboard.models import AuditLog


class AuditChoices(TypedDict):
    users: list[str]
    actions: list[str]
    queues: list[str]


def audit_entries(*, target_prefix: str = "", limit: int = 20) -> list[AuditLog]:
    """The newest entries of one queue ("<queue>" or "<queue>/…": not "<queue>2")."""
    qs = AuditLog.objects.order_by("-at", "-id")
    if target_prefix:
        qs = qs.filter(Q(target=target_prefix) | Q(target__startswith=f"{target_prefix}/"))
    return list(qs[:limit])


AUDIT_PAGE_SIZE = 100


@dataclass(frozen=True)
class AuditFilters:
    user: str = ""
    action: str = ""
    queue: str = ""


def audit_log(*, filters: AuditFilters) -> QuerySet[AuditLog]:
    """Every operator action (queue actions, alert acknowledge/resolve, denied attempts),
    newest first, filtered by user name, action and queue."""
    qs = AuditLog.objects.order_by("-at", "-id")
    if filters.user:
        qs = qs.filter(username=filters.user)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.queue:
        # Targets are "<queue>", "<queue>/<group>[/<consumer>]" or "<queue>/alert:<id>".
        qs = qs.filter(Q(target=filters.queue) | Q(target__startswith=f"{filters.queue}/"))
    return qs


def audit_choices() -> AuditChoices:
    """Values the audit page offers in its filters."""
    return {
        # order_by(): the model's ordering (by time) would make DISTINCT one row per entry
        "users": list(
            AuditLog.objects.exclude(username="")
            .order_by("username")
            .values_list("username", flat=True)
            .distinct()
        ),
        "actions": list(
            AuditLog.objects.order_by("action").values_list("action", flat=True).distinct()
        ),
        "queues": list(QueueDefinition.objects.values_list("name", flat=True)),
    }


def audit_as_json(entry: AuditLog) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "at": entry.at.isoformat(),
        "user": entry.username,
        "action": entry.action,
        "target": entry.target,
        "ok": entry.ok,
        "details": entry.details,
    }
