"""Dashboard state kept in the database: metric history, the audit log, API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class MetricSnapshot(models.Model):
    """One queue's numbers at one moment. ``resolution`` "raw" rows are what the monitor
    stored; "1m" rows are per-minute rollups of them (see dashboard.monitor.retention).
    Queue-level numbers are aggregates over the watched groups (lag: the worst group;
    pending: the sum); per-group numbers are kept in ``groups``.
    """

    RAW = "raw"
    MINUTE = "1m"
    RESOLUTIONS = [(RAW, "raw"), (MINUTE, "1 minute")]

    queue = models.CharField(max_length=200)
    resolution = models.CharField(max_length=4, choices=RESOLUTIONS, default=RAW)
    at = models.DateTimeField()
    length = models.BigIntegerField(default=0)
    lag = models.BigIntegerField(null=True, blank=True)
    pending = models.BigIntegerField(default=0)
    consumers = models.IntegerField(default=0)
    active_consumers = models.IntegerField(default=0)
    #: None for a plain stream: only StreamWarden queues have dead letters to count.
    dead_letters = models.BigIntegerField(default=0, null=True, blank=True)
    oldest_pending_ms = models.BigIntegerField(null=True, blank=True)
    oldest_undelivered_ms = models.BigIntegerField(null=True, blank=True)
    rate_in = models.FloatField(null=True, blank=True, help_text="messages/s added")
    rate_out = models.FloatField(null=True, blank=True, help_text="messages/s read")
    status = models.CharField(max_length=8, default="ok")
    trend = models.CharField(max_length=8, default="OK")
    groups = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["queue", "resolution", "at"], name="snapshot_queue_res_at"),
            models.Index(fields=["resolution", "at"], name="snapshot_res_at"),
        ]
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.queue} @ {self.at:%Y-%m-%d %H:%M:%S} ({self.resolution})"


class AuditLog(models.Model):
    """Every operator action on a queue: who did what to which target, and when."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    username = models.CharField(max_length=150, blank=True, help_text="Kept if the user goes.")
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=500)
    details = models.JSONField(default=dict, blank=True)
    ok = models.BooleanField(default=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.target}"


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """``Authorization: Token <key>`` for scripts. Only a hash of the key is stored.

    A token acts as its user and never more: it works only while the user is active and has
    the password it was issued under (a password change revokes every token of the user),
    until ``expires_at`` if set, and for reads only when ``read_only``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    name = models.CharField(max_length=100, help_text="What the token is for.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="The token stops working then; blank = never."
    )
    read_only = models.BooleanField(
        default=False, help_text="Only GET requests: no action, whatever the user may do."
    )
    # A digest of the owner's stored password hash when the token was issued: a password
    # change (or a hasher upgrade on login) changes it and so revokes the token.
    password_digest = models.CharField(max_length=64, editable=False, default="")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.user})"

    @classmethod
    def issue(
        cls,
        *,
        user: models.Model,
        name: str,
        expires_at: datetime | None = None,
        read_only: bool = False,
    ) -> tuple[ApiToken, str]:
        """Create a token; the clear key is returned once and never stored."""
        key = secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            name=name,
            key_hash=_hash_key(key),
            prefix=key[:8],
            expires_at=expires_at,
            read_only=read_only,
            password_digest=password_digest(user),
        )
        return token, key

    @classmethod
    def lookup(cls, key: str) -> ApiToken | None:
        """The token of ``key`` if it may be used now; None when unknown or revoked."""
        token = cls.objects.select_related("user").filter(key_hash=_hash_key(key)).first()
        if token is None or not token.is_usable():
            return None
        return token

    def is_usable(self) -> bool:
        """Owner active, owner's password unchanged since issue, not expired."""
        if not self.user.is_active:
            return False
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return False
        return hmac.compare_digest(self.password_digest, password_digest(self.user))


def password_digest(user: models.Model) -> str:
    """SHA-256 of the user's stored password hash (never of a password)."""
    return hashlib.sha256(str(getattr(user, "password", "")).encode()).hexdigest()


class MonitorState(models.Model):
    """What the active monitor last reported, so pages and the API can show an outage even
    when the channel layer (on the same Redis) cannot carry the news."""

    key = models.CharField(max_length=32, unique=True, default="monitor")
    holder = models.CharField(max_length=200, blank=True)
    last_cycle_at = models.DateTimeField(null=True, blank=True)
    redis_ok = models.BooleanField(default=True)
    redis_error = models.CharField(max_length=500, blank=True)
    redis_down_since = models.DateTimeField(null=True, blank=True)
    poll_commands = models.IntegerField(default=0)
    poll_ms = models.FloatField(default=0)
    poll_queues = models.JSONField(
        default=dict,
        blank=True,
        help_text="Queues of the last poll: checked for changes, changed, read in full.",
    )
    queues = models.IntegerField(default=0)
    cycles = models.BigIntegerField(default=0)
    cycle_ms = models.FloatField(default=0, help_text="The last full cycle, every phase.")
    phases = models.JSONField(
        default=dict, blank=True, help_text="Milliseconds of the last cycle per phase."
    )

    def __str__(self) -> str:
        return f"monitor {self.holder} @ {self.last_cycle_at}"

    def as_json(self) -> dict[str, object]:
        return {
            "holder": self.holder,
            "last_cycle_at": self.last_cycle_at.isoformat() if self.last_cycle_at else None,
            "redis_ok": self.redis_ok,
            "redis_error": self.redis_error,
            "redis_down_since": (
                self.redis_down_since.isoformat() if self.redis_down_since else None
            ),
            "poll_commands": self.poll_commands,
            "poll_ms": round(self.poll_ms, 2),
            "poll_queues": self.poll_queues,
            "queues": self.queues,
            "cycles": self.cycles,
            "cycle_ms": round(self.cycle_ms, 1),
            "phases": self.phases,
        }


class MonitorLease(models.Model):
    """Which monitor polls (dashboard.monitor.lease): renewed every cycle, expiring when
    its holder stops. In the database because producers can write every Redis key."""

    key = models.CharField(max_length=32, unique=True, default="monitor")
    holder = models.CharField(max_length=200)
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"lease held by {self.holder} since {self.acquired_at} until {self.expires_at}"


class QueueState(models.Model):
    """The monitor's latest full view of one queue (what it last published live): numbers,
    groups, consumers, trend, rates, forecasts, claim stats. Pages read it instead of
    polling Redis while the monitor is running; rewritten only when the queue changed."""

    queue = models.CharField(max_length=200, unique=True)
    at = models.DateTimeField()
    data = models.JSONField(default=dict)
    sparkline = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.queue} @ {self.at:%Y-%m-%d %H:%M:%S}"


class ClaimStorm(models.Model):
    """One claim storm of one group: a single incident from its first to its last claim,
    however many claims (each still its own alert row) it brought."""

    queue = models.CharField(max_length=200)
    group = models.CharField(max_length=200)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    claims = models.IntegerField(default=0, help_text="Claims in the window at the peak.")
    peak_rate = models.FloatField(default=0, help_text="Highest claims per minute seen.")
    messages = models.IntegerField(default=0, help_text="Distinct messages claimed at the peak.")
    bouncing = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["queue", "ended_at"], name="storm_queue_ended")]

    def __str__(self) -> str:
        state = "ongoing" if self.ended_at is None else f"ended {self.ended_at:%H:%M:%S}"
        return f"claim storm {self.queue}/{self.group} from {self.started_at:%H:%M:%S} ({state})"

    @property
    def active(self) -> bool:
        return self.ended_at is None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.pk,
            "queue": self.queue,
            "group": self.group,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "active": self.active,
            "claims": self.claims,
            "peak_rate": self.peak_rate,
            "messages": self.messages,
            "bouncing": self.bouncing,
        }


class LoginThrottle(models.Model):
    """Failed logins of one username or one client address within the current window, and
    until when further logins are refused (``dashboard.login_throttle``)."""

    USER = "user"
    ADDRESS = "address"

    scope = models.CharField(max_length=8, choices=[(USER, "username"), (ADDRESS, "address")])
    key = models.CharField(max_length=200)
    failures = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="login_throttle_scope_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}: {self.failures} failures"
