"""Alerts, notification channels, deliveries and silences."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class AlertKind(models.TextChoices):
    CLAIMED = "claimed", "Message claimed"
    DEAD_LETTERED = "dead_lettered", "Message dead-lettered"
    THRESHOLD = "threshold", "Threshold breached"
    TREND = "trend", "Lag trend"
    REDIS_UNREACHABLE = "redis_unreachable", "Redis unreachable"
    MONITOR_DOWN = "monitor_down", "Monitor down"


#: Kinds that are recorded one row per library event and grouped per queue per window.
EVENT_KINDS = (AlertKind.CLAIMED, AlertKind.DEAD_LETTERED)
#: Kinds that describe a lasting condition: opened on change, resolved on recovery.
STATUS_KINDS = (
    AlertKind.THRESHOLD,
    AlertKind.TREND,
    AlertKind.REDIS_UNREACHABLE,
    AlertKind.MONITOR_DOWN,
)
#: Kinds a `redis_unreachable` alert inhibits (their cause is the unreachable Redis).
INHIBITED_KINDS = (AlertKind.THRESHOLD, AlertKind.TREND)


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARN = "warn", "Warning"
    ALERT = "alert", "Alert"


SEVERITY_RANK = {Severity.INFO: 0, Severity.WARN: 1, Severity.ALERT: 2}


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


ACTIVE_STATES = (AlertState.OPEN, AlertState.ACKNOWLEDGED)


class NotifyState(models.TextChoices):
    """Where an alert is in the notification pipeline (see alerts.dispatch)."""

    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    SILENCED = "silenced", "Silenced"
    INHIBITED = "inhibited", "Inhibited"
    NONE = "none", "Nothing to send"


class Alert(models.Model):
    """One alert: a library event (one row per claimed / dead-lettered message) or a status."""

    kind = models.CharField(max_length=32, choices=AlertKind.choices, db_index=True)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.WARN)
    state = models.CharField(
        max_length=16, choices=AlertState.choices, default=AlertState.OPEN, db_index=True
    )
    queue = models.CharField(max_length=200, blank=True, db_index=True)
    group = models.CharField(max_length=200, blank=True)
    message_id = models.CharField(max_length=64, blank=True)
    #: Id of the library event in its events stream; unique per queue so that a
    #: redelivered event never makes a second row.
    event_id = models.CharField(max_length=64, blank=True)
    #: Redis the alert is about (redis_unreachable, and the Redis of a queue's status alerts).
    redis_url = models.CharField(max_length=500, blank=True)
    #: Groups status alerts: one active alert per fingerprint (e.g. "threshold:orders:billing").
    fingerprint = models.CharField(max_length=400, blank=True, db_index=True)
    #: Last raw status of a status alert (warn/alert, WARN/STALL/STOP/REWIND, down).
    status = models.CharField(max_length=32, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    details = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    #: Null with resolved_at set means the system resolved it (recovery).
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    notify_state = models.CharField(
        max_length=16, choices=NotifyState.choices, default=NotifyState.PENDING, db_index=True
    )
    last_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["queue", "event_id"],
                condition=~Q(event_id=""),
                name="alerts_alert_unique_event",
            ),
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=~Q(fingerprint="") & Q(state__in=["open", "acknowledged"]),
                name="alerts_alert_one_active_per_fingerprint",
            ),
        ]
        indexes = [models.Index(fields=["notify_state", "kind", "queue"])]

    def __str__(self) -> str:
        where = f" {self.queue}" if self.queue else ""
        return f"{self.get_kind_display()}{where} [{self.state}]"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES
