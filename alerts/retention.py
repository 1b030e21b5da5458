"""Keeps the alerts tables bounded: a claim storm writes a row per claim, so old rows go."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from alerts import conf
from alerts.counting import retire
from alerts.models import (
    ACTIVE_STATES,
    STATUS_KINDS,
    Alert,
    Notification,
    NotifyState,
    Silence,
)


def prune(*, now: datetime | None = None) -> dict[str, int]:
    """Delete what is older than the retention; returns rows deleted per model.

    Kept whatever their age: status alerts still open or acknowledged (the condition holds),
    alerts still waiting to be notified, and silences that have not ended.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=conf.retention_days())
    old = (
        Alert.objects.filter(created_at__lt=cutoff)
        .exclude(notify_state=NotifyState.PENDING)
        .exclude(Q(kind__in=STATUS_KINDS) & Q(state__in=ACTIVE_STATES))
    )
    alerts = _delete_counted(old)
    # Deliveries go with their notification (cascade).
    _, per_model = Notification.objects.filter(
        created_at__lt=cutoff, enqueued_at__isnull=False
    ).delete()
    notifications = per_model.get("alerts.Notification", 0)
    silences, _ = Silence.objects.filter(ends_at__lt=cutoff).delete()
    return {"alerts": alerts, "notifications": notifications, "silences": silences}


#: Alerts deleted per transaction: a claim storm's million rows are not read at once.
CHUNK = 5000


def _delete_counted(old: QuerySet[Alert]) -> int:
    """Delete the alerts of ``old``, the oldest first, adding each to the retired counts in
    the transaction that deletes it; returns how many went."""
    deleted = 0
    while True:
        with transaction.atomic():
            rows = list(
                old.order_by("pk")
                .select_for_update()
                .values_list("pk", "kind", "severity", "queue", "group")[:CHUNK]
            )
            if not rows:
                return deleted
            _, per_model = Alert.objects.filter(pk__in=[r[0] for r in rows]).delete()
            retire(Counter((kind, sev, queue, group) for _, kind, sev, queue, group in rows))
            deleted += per_model.get("alerts.Alert", 0)
