"""Alerts, notification channels, deliveries and silences."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from queues.redact import redact_url


class AlertKind(models.TextChoices):
    CLAIMED = "claimed", "Message claimed"
    DEAD_LETTERED = "dead_lettered", "Message dead-lettered"
    THRESHOLD = "threshold", "Threshold breached"
    TREND = "trend", "Lag trend"
    REDIS_UNREACHABLE = "redis_unreachable", "Redis unreachable"
    MONITOR_DOWN = "monitor_down", "Monitor down"
    #: One incident per claim storm of a (queue, group), opened and resolved by the monitor.
    CLAIM_STORM = "claim_storm", "Claim storm"
    #: A running consumer re-created its deleted group (the library's group_recreated event).
    GROUP_RECREATED = "group_recreated", "Consumer group re-created"
    #: The library's events stream hit its hard bound and dropped events not yet ingested.
    EVENTS_DROPPED = "events_dropped", "Events dropped"


#: Kinds that are recorded one row per library event and grouped per queue per window.
EVENT_KINDS = (
    AlertKind.CLAIMED,
    AlertKind.DEAD_LETTERED,
    AlertKind.GROUP_RECREATED,
    AlertKind.EVENTS_DROPPED,
)
#: Kinds that describe a lasting condition: opened on change, resolved on recovery.
STATUS_KINDS = (
    AlertKind.THRESHOLD,
    AlertKind.TREND,
    AlertKind.CLAIM_STORM,
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
    STORM = "storm", "Covered by a claim-storm alert"
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
    #: Redis the alert is about (redis_unreachable, and the Redis of a queue's status alerts),
    #: always redacted (queues.redact): rows are shown, sent and exported.
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

    @property
    def redis_display(self) -> str:
        """The Redis URL without its secrets, for pages and notifications (rows written before
        redaction was applied on write are redacted here too)."""
        return redact_url(self.redis_url)


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.replace("\n", ",").split(",") if item.strip()]


class NotificationChannel(models.Model):
    """Where notifications go: a backend (dotted path, like EMAIL_BACKEND) and its target."""

    name = models.CharField(max_length=100, unique=True)
    backend = models.CharField(
        max_length=200,
        default="alerts.backends.webhook.WebhookBackend",
        help_text=(
            "Dotted path of a backend class: alerts.backends.webhook.WebhookBackend, "
            "alerts.backends.email.EmailBackend, or another class listed in the "
            "STREAMWARDEN_NOTIFICATION_BACKENDS setting (nothing else is imported)."
        ),
    )
    url = models.CharField(
        "target URL", max_length=500, blank=True, help_text="Webhook backends: http(s) URL."
    )
    emails = models.TextField(
        "recipients", blank=True, help_text="Email backends: addresses, comma or newline separated."
    )
    secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="Webhook backends: key of the X-StreamWarden-Signature HMAC-SHA256.",
    )
    min_severity = models.CharField(
        "minimum severity", max_length=8, choices=Severity.choices, default=Severity.WARN
    )
    queues = models.TextField(
        "queue filter", blank=True, help_text="Only these queues (comma separated); empty = all."
    )
    kinds = models.TextField(
        "kind filter",
        blank=True,
        help_text="Only these alert kinds (comma separated: "
        + ", ".join(AlertKind.values)
        + "); empty = all.",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def queue_list(self) -> list[str]:
        return _split(self.queues)

    @property
    def kind_list(self) -> list[str]:
        return _split(self.kinds)

    @property
    def email_list(self) -> list[str]:
        return _split(self.emails)

    def accepts(self, *, kind: str, queue: str, severity: str) -> bool:
        """Whether a notification of this kind / queue / severity is for this channel."""
        if not self.enabled:
            return False
        if SEVERITY_RANK[Severity(severity)] < SEVERITY_RANK[Severity(self.min_severity)]:
            return False
        if self.queue_list and queue not in self.queue_list:
            return False
        return not (self.kind_list and kind not in self.kind_list)

    def takes(self, notification: Notification) -> bool:
        """Whether ``notification`` is for this channel: a grouped one (an incident's status
        alerts) when it names any of this channel's queues."""
        payload = notification.payload if isinstance(notification.payload, dict) else {}
        queues = payload.get("queues") if payload.get("grouped") else None
        return any(
            self.accepts(kind=notification.kind, queue=str(queue), severity=notification.severity)
            for queue in (queues if isinstance(queues, list) else [notification.queue])
        )

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from alerts.backends import get_backend_class
        from alerts.exceptions import BackendConfigurationError

        errors: dict[str, list[str]] = {}
        unknown = sorted(set(self.kind_list) - set(AlertKind.values))
        if unknown:
            errors["kinds"] = [
                f"Unknown kind(s) {', '.join(unknown)}; choose from {', '.join(AlertKind.values)}."
            ]
        try:
            backend_class = get_backend_class(self.backend)
        except BackendConfigurationError as exc:
            errors["backend"] = [str(exc)]
        else:
            for field, messages in backend_class.validate_channel(self).items():
                errors.setdefault(field, []).extend(messages)
        if errors:
            raise ValidationError(errors)


class Notification(models.Model):
    """One message to people: a group of claims of a queue, or one status alert change."""

    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    queue = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    resolved = models.BooleanField(default=False, help_text="A recovery, not a problem.")
    count = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=300)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    #: Set once a delivery job per matching channel is in the notifications queue.
    enqueued_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class NotificationDelivery(models.Model):
    """One delivery attempt of a notification to a channel (the delivery log)."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.CASCADE, related_name="deliveries"
    )
    attempt = models.PositiveIntegerField()
    ok = models.BooleanField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    final = models.BooleanField(default=False, help_text="Failed and no more retries.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "notification deliveries"

    def __str__(self) -> str:
        outcome = "ok" if self.ok else f"failed ({self.status_code or self.error[:40]})"
        return f"{self.notification_id} → {self.channel} #{self.attempt}: {outcome}"


class Silence(models.Model):
    """Mutes notifications that match every non-empty matcher between starts_at and ends_at.

    Alert rows are still recorded while silenced; only the notification is not sent.
    """

    queue = models.CharField(max_length=200, blank=True, help_text="Empty = any queue.")
    group = models.CharField(
        "consumer group", max_length=200, blank=True, help_text="Empty = any group."
    )
    kind = models.CharField(max_length=32, blank=True, choices=AlertKind.choices)
    severity = models.CharField(max_length=8, blank=True, choices=Severity.choices)
    comment = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ends_at"]

    def __str__(self) -> str:
        what = " ".join(f"{k}={v}" for k, v in self.matchers().items()) or "everything"
        return f"silence {what} until {self.ends_at:%Y-%m-%d %H:%M}"

    def matchers(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (
                ("queue", self.queue),
                ("group", self.group),
                ("kind", self.kind),
                ("severity", self.severity),
            )
            if v
        }

    def matches(self, *, queue: str, kind: str, severity: str, group: str = "") -> bool:
        values = {"queue": queue, "group": group, "kind": kind, "severity": severity}
        return all(values[k] == v for k, v in self.matchers().items())

    @property
    def expired(self) -> bool:
        from django.utils import timezone

        return self.ends_at <= timezone.now()

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "A silence must end after it starts."})


class RetiredAlertCount(models.Model):
    """Alerts that have left the rows counted for their kind and severity: deleted by the
    retention, or (a status alert) moved on to another severity. ``/metrics`` adds them to
    the rows it counts, so its alert counters only ever go up: a counter that drops reads
    to Prometheus as a reset, and ``increase()`` then counts every kept alert again."""

    kind = models.CharField(max_length=32)
    severity = models.CharField(max_length=8)
    #: Set for the kinds counted per queue and group (claimed, dead_lettered); else empty.
    queue = models.CharField(max_length=200, blank=True)
    group = models.CharField(max_length=200, blank=True)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "severity", "queue", "group"], name="alerts_retired_count_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.severity} {self.queue} {self.group}: {self.count} retired"
