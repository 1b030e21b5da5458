"""Which queues the dashboard watches, and their thresholds (app label ``queues``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from queues import health
from queues.keys import validate_name


class QueueDefinition(models.Model):
    """A queue the dashboard watches: its library queue name, Redis and groups of interest."""

    name = models.CharField(
        max_length=200, unique=True, help_text="Display name, used in URLs and alerts."
    )
    queue = models.CharField(
        max_length=200,
        blank=True,
        help_text="Library queue name (stream key sw:{queue}:stream); blank = same as name. "
        "Leave blank when a stream key is set below.",
    )
    stream = models.CharField(
        max_length=1000,
        blank=True,
        default="",
        help_text="Any Redis stream key to watch as a plain stream (written by any client, "
        "e.g. orders); then leave the library queue name blank. Blank = a StreamWarden queue.",
    )
    redis_url = models.CharField(
        max_length=500, blank=True, help_text="Redis URL; blank = the dashboard's REDIS_URL."
    )
    groups = models.JSONField(
        default=list, blank=True, help_text='Groups to watch, e.g. ["billing"]; empty = all.'
    )
    maxlen = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="MAXLEN producers trim this stream to, if any; the dashboard warns when "
        "trimming there would drop undelivered or unacknowledged entries.",
    )
    notes = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("operate_queue", "Can operate queues (replay dead letters, create group, set id)"),
            (
                "destroy_queue",
                "Can destroy queue data (purge, trim, delete group/consumer/dead letters)",
            ),
            (
                "view_payloads",
                "Can view message payloads (dead letters, plain stream entries)",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def queue_name(self) -> str:
        """The name the library knows this queue by (the stream key of a plain stream)."""
        return library_name(self.name, self.queue, self.stream)

    @property
    def is_plain(self) -> bool:
        """Whether this watches a plain stream (any key) rather than a StreamWarden queue."""
        return bool(self.stream)

    def effective_redis_url(self) -> str:
        return redis_url_of(self.redis_url)

    def clean(self) -> None:
        if "/" in self.name or self.name != self.name.strip():
            raise ValidationError({"name": "No slashes or surrounding spaces (names go in URLs)."})
        if self.stream and self.queue:
            raise ValidationError(
                {"queue": "Leave the library queue name blank when a stream key is set."}
            )
        if self.stream and any(ch in self.stream for ch in "\r\n\0"):
            raise ValidationError({"stream": "A stream key without line breaks or NUL."})
        if not self.stream:
            try:
                validate_name(self.queue_name)
            except ValueError as exc:
                raise ValidationError({"queue": str(exc)}) from exc
        if self.redis_url:
            # A URL the library cannot use made the overview fail for everyone.
            from dashboard.catalog.admin import redis_url_problem

            problem = redis_url_problem(self.redis_url)
            if problem:
                raise ValidationError({"redis_url": f"Not a usable Redis URL: {problem}."})
        if not isinstance(self.groups, list) or not all(
            isinstance(group, str) and group for group in self.groups
        ):
            raise ValidationError({"groups": 'A JSON list of group names, e.g. ["billing"].'})

    def watches(self, group: str) -> bool:
        return not self.groups or group in self.groups


def library_name(name: str, queue: str, stream: str) -> str:
    """``QueueDefinition.queue_name`` from the row's values (no instance needed)."""
    return stream or queue or name


def redis_url_of(redis_url: str) -> str:
    """``QueueDefinition.effective_redis_url`` from the row's value."""
    return redis_url or str(settings.REDIS_URL)


#: The library's name of each dashboard metric: ``queues.health`` evaluates them all (the
#: dashboard keeps oldest pending in seconds; the direction does not depend on the unit).
LIBRARY_METRIC = {
    "active_consumers": "active_consumers",
    "lag": "lag",
    "pending": "pending",
    "oldest_pending": "oldest_pending_ms",
    "dead_letters": "dead",
}


@dataclass(frozen=True)
class Metric:
    """One threshold metric; ``higher_is_worse`` False means low values are bad."""

    key: str
    label: str
    unit: str = ""

    @property
    def higher_is_worse(self) -> bool:
        return not health.LOWER_IS_WORSE[LIBRARY_METRIC[self.key]]


METRICS: tuple[Metric, ...] = (
    Metric("active_consumers", "Active consumers"),
    Metric("lag", "Undelivered messages (lag)"),
    Metric("pending", "Pending (delivered, unacknowledged)"),
    Metric("oldest_pending", "Age of the oldest pending entry", unit="s"),
    Metric("dead_letters", "Dead letters"),
)


@dataclass(frozen=True)
class Level:
    warn: float | None
    alert: float | None


#: A Threshold row's level columns, metric by metric in METRICS order: warn, then alert.
LEVEL_COLUMNS: tuple[str, ...] = tuple(
    f"{metric.key}_{which}" for metric in METRICS for which in ("warn", "alert")
)


@dataclass(frozen=True)
class EffectiveThresholds:
    """Warn/alert levels per metric after merging a queue's override over the global row."""

    levels: dict[str, Level]

    @functools.cached_property
    def judges(self) -> dict[str, Callable[[float], str]]:
        """Per metric, the status of a known value (``queues.health.judge``); a metric
        without levels judges every value ok. Made once: the monitor keeps these thresholds
        across cycles and asks 10 000 queues × 5 metrics every cycle."""
        return {
            metric: health.judge(
                LIBRARY_METRIC[metric], health.Threshold(warn=level.warn, alert=level.alert)
            )
            for metric, level in self.levels.items()
        }

    def status_of(self, metric: str, value: float | None) -> str:
        """ok|warn|alert of one value (``queues.health.classify``); a metric without levels
        or a missing value is ok."""
        if value is None:
            return "ok"
        judge = self.judges.get(metric)
        return "ok" if judge is None else judge(value)

    def as_dict(self) -> dict[str, dict[str, float | None]]:
        return {k: {"warn": v.warn, "alert": v.alert} for k, v in self.levels.items()}


class Threshold(models.Model):
    """Warn/alert levels. The row without a queue holds the global defaults; a queue's row
    overrides them metric by metric (a metric with both levels blank inherits the default).

    Higher values are worse for every metric except active consumers, where *fewer* is
    worse: an alert at 0 active consumers, a warning at 1, say.
    """

    queue = models.OneToOneField(
        QueueDefinition,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="threshold",
        help_text="Blank = the global default for every queue without its own value.",
    )
    active_consumers_warn = models.FloatField(
        null=True, blank=True, verbose_name="Active consumers: warn at"
    )
    active_consumers_alert = models.FloatField(
        null=True, blank=True, verbose_name="Active consumers: alert at"
    )
    lag_warn = models.FloatField(null=True, blank=True, verbose_name="Lag: warn at")
    lag_alert = models.FloatField(null=True, blank=True, verbose_name="Lag: alert at")
    pending_warn = models.FloatField(null=True, blank=True, verbose_name="Pending: warn at")
    pending_alert = models.FloatField(null=True, blank=True, verbose_name="Pending: alert at")
    oldest_pending_warn = models.FloatField(
        null=True, blank=True, verbose_name="Oldest pending (s): warn at"
    )
    oldest_pending_alert = models.FloatField(
        null=True, blank=True, verbose_name="Oldest pending (s): alert at"
    )
    dead_letters_warn = models.FloatField(
        null=True, blank=True, verbose_name="Dead letters: warn at"
    )
    dead_letters_alert = models.FloatField(
        null=True, blank=True, verbose_name="Dead letters: alert at"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Thresholds for {self.queue}" if self.queue_id else "Global default thresholds"

    def level(self, metric: str) -> Level:
        return Level(getattr(self, f"{metric}_warn"), getattr(self, f"{metric}_alert"))

    def level_values(self) -> tuple[float | None, ...]:
        """The row's LEVEL_COLUMNS values."""
        return tuple(getattr(self, column) for column in LEVEL_COLUMNS)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for metric in METRICS:
            level = self.level(metric.key)
            for which in ("warn", "alert"):
                value = getattr(level, which)
                if value is not None and value < 0:
                    errors[f"{metric.key}_{which}"] = "Must be zero or more."
            if level.warn is None or level.alert is None or f"{metric.key}_warn" in errors:
                continue
            if metric.higher_is_worse and level.warn >= level.alert:
                errors[f"{metric.key}_warn"] = (
                    f"{metric.label}: warn ({level.warn:g}) must be below alert "
                    f"({level.alert:g}) — higher is worse."
                )
            elif not metric.higher_is_worse and level.warn <= level.alert:
                errors[f"{metric.key}_warn"] = (
                    f"{metric.label}: warn ({level.warn:g}) must be above alert "
                    f"({level.alert:g}) — fewer is worse."
                )
        if self.queue_id is None:
            clash = Threshold.objects.filter(queue__isnull=True).exclude(pk=self.pk)
            if clash.exists():
                errors["queue"] = "A global default already exists; edit it or pick a queue."
        if errors:
            raise ValidationError(errors)

    @classmethod
    def effective_for(
        cls, queue: QueueDefinition | None, *, rows: list[Threshold] | None = None
    ) -> EffectiveThresholds:
        """Merge the queue's override over the global default (pass ``rows`` to avoid queries)."""
        if rows is None:
            rows = list(cls.objects.filter(Q(queue__isnull=True) | Q(queue=queue)))
        default = next((r for r in rows if r.queue_id is None), None)
        own = next((r for r in rows if queue is not None and r.queue_id == queue.pk), None)
        return merge_levels(
            own.level_values() if own is not None else None,
            default.level_values() if default is not None else None,
        )


def merge_levels(
    own: Sequence[float | None] | None, default: Sequence[float | None] | None
) -> EffectiveThresholds:
    """A queue's override merged over the global default, each given as its row's
    LEVEL_COLUMNS values (None: no such row): per metric, the first of the two rows with
    a warn or an alert level gives both. ``Threshold.effective_for`` without instances."""
    levels: dict[str, Level] = {}
    for index, metric in enumerate(METRICS):
        chosen = Level(None, None)
        for row in (own, default):
            if row is None:
                continue
            warn, alert = row[2 * index], row[2 * index + 1]
            if warn is not None or alert is not None:
                chosen = Level(warn, alert)
                break
        levels[metric.key] = chosen
    return EffectiveThresholds(levels)
