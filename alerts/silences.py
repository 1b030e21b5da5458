"""Silences created from an alert ("Silence this"): validated against the known queues and
alert kinds, one audit-log row each. The admin's form applies the same queue check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from alerts.exceptions import SilenceError
from alerts.models import AlertKind, Silence

#: The durations offered next to an alert (value, label, length).
DURATIONS: tuple[tuple[str, str, timedelta], ...] = (
    ("1h", "1 hour", timedelta(hours=1)),
    ("4h", "4 hours", timedelta(hours=4)),
    ("24h", "24 hours", timedelta(hours=24)),
    ("7d", "7 days", timedelta(days=7)),
)


def unknown_queue_message(queue: str) -> str | None:
    """Why ``queue`` cannot be silenced (no such queue definition), or None if it can."""
    from dashboard.catalog.models import QueueDefinition

    if not queue or QueueDefinition.objects.filter(name=queue).exists():
        return None
    known = list(QueueDefinition.objects.order_by("name").values_list("name", flat=True)[:10])
    return (
        f"No queue named {queue!r}. Known queues: {', '.join(known) or 'none yet'}."
        " Leave it empty to silence every queue."
    )


def describe(*, queue: str, group: str, kind: str) -> str:
    """What a silence covers, in words: 'queue "orders", group "billing", kind claimed'."""
    parts = [f"queue {queue!r}" if queue else "every queue"]
    if group:
        parts.append(f"group {group!r}")
    parts.append(f"kind {kind}" if kind else "every kind")
    return ", ".join(parts)


def silence_create(
    *,
    user: Any,
    queue: str,
    group: str,
    kind: str,
    duration: str,
    comment: str = "",
    alert_id: int | None = None,
) -> Silence:
    """Mute notifications for (queue, group, kind) from now for ``duration`` (a DURATIONS
    value). Alerts keep being recorded. The caller checks the permission. Raises
    SilenceError naming the fields to correct."""
    from dashboard.models import AuditLog

    fields: dict[str, str] = {}
    lengths = {value: length for value, _, length in DURATIONS}
    if duration not in lengths:
        fields["duration"] = f"One of {', '.join(lengths)}."
    why = unknown_queue_message(queue)
    if why:
        fields["queue"] = why
    if kind and kind not in AlertKind.values:
        fields["kind"] = f"One of {', '.join(AlertKind.values)}."
    if group and not queue:
        fields["group"] = "A group belongs to a queue: name the queue too."
    if not (queue or kind):
        fields["queue"] = fields.get("queue") or "Name a queue or a kind: not everything at once."
    if fields:
        raise SilenceError("The silence was not created.", fields=fields)
    username = user.get_username() if getattr(user, "is_authenticated", False) else ""
    what = describe(queue=queue, group=group, kind=kind)
    origin = f"Silenced from alert {alert_id}" if alert_id else "Silenced"
    now = timezone.now()
    with transaction.atomic():
        silence = Silence.objects.create(
            queue=queue,
            group=group,
            kind=kind,
            comment=comment.strip() or f"{origin} by {username or 'an operator'}",
            created_by=user if username else None,
            starts_at=now,
            ends_at=now + lengths[duration],
        )
        AuditLog.objects.create(
            user=user if username else None,
            username=username,
            action="silence.create",
            target=f"{queue}/silence:{silence.pk}" if queue else f"silence:{silence.pk}",
            details={
                "covers": what,
                "until": silence.ends_at.isoformat(),
                "duration": duration,
                "alert": alert_id,
                "comment": silence.comment,
            },
        )
    return silence
