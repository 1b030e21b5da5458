"""Keeps the alerts tables bounded: a claim storm writes a row per claim, so old rows go."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from alerts import conf
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
    alerts, _ = (
        Alert.objects.filter(created_at__lt=cutoff)
        .exclude(notify_state=NotifyState.PENDING)
        .exclude(Q(kind__in=STATUS_KINDS) & Q(state__in=ACTIVE_STATES))
        .delete()
    )
    # Deliveries go with their notification (cascade).
    _, per_model = Notification.objects.filter(
        created_at__lt=cutoff, enqueued_at__isnull=False
    ).delete()
    notifications = per_model.get("alerts.Notification", 0)
    silences, _ = Silence.objects.filter(ends_at__lt=cutoff).delete()
    return {"alerts": alerts, "notifications": notifications, "silences": silences}
