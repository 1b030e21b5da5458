"""Alert writes: what the monitor's signals call each cycle (``alerts.receivers``), and
operator actions.

Every function here is keyword-only and typed. The monitor's signals only write rows (and mark
them for notification); sending happens later in the notifier process (``alerts.dispatch``),
so nothing here can block or slow the monitor, and notification problems never raise here.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, connections, models, transaction
from django.utils import timezone

from alerts import conf
from alerts.counting import Key, retire
from alerts.exceptions import AlertStateError
from alerts.live import MAX_LIVE_ALERTS as MAX_BULK_PUSH
from alerts.live import publish_alert, publish_alerts
from alerts.models import (
    ACTIVE_STATES,
    EVENT_KINDS,
    Alert,
    AlertKind,
    AlertState,
    NotifyState,
    Severity,
)
from dashboard.monitor.writes import insert_rows, update_rows
from queues.redact import redact_url

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser

#: Raw statuses of the monitor, mapped to an alert severity; None = healthy (resolve).
STATUS_SEVERITY: dict[str, Severity | None] = {
    "ok": None,
    "warn": Severity.WARN,
    "alert": Severity.ALERT,
    # Trend statuses (Burrow-style lag evaluation).
    "OK": None,
    "WARN": Severity.WARN,
    "REWIND": Severity.WARN,
    "STALL": Severity.ALERT,
    "STOP": Severity.ALERT,
}


def status_fingerprint(*, kind: str, queue: str, group: str | None) -> str:
    """Identity of a status alert: one active alert per kind, queue and group."""
    return f"{kind}:{queue}:{group or ''}"


def redis_fingerprint(*, redis_url: str) -> str:
    """Identity of a ``redis_unreachable`` alert: the redacted URL (fingerprints are shown)."""
    return f"{AlertKind.REDIS_UNREACHABLE}:{redact_url(redis_url)}"


def queue_redis_url(*, queue: str) -> str:
    """Redis URL a queue lives on: its QueueDefinition's, or the default REDIS_URL."""
    try:
        from dashboard.catalog.models import QueueDefinition

        url = QueueDefinition.objects.filter(name=queue).values_list("redis_url", flat=True).first()
    except Exception:  # noqa: BLE001 - table missing during migrations: use the default
        url = None
    return url or conf.default_redis_url()


def display_queue_name(*, library_queue: str) -> str:
    """Name alerts use for a library queue: its QueueDefinition's display name, if any.

    Status alerts come from the monitor under the display name (used in /queues/<name>/);
    library events name the library queue, so they are mapped here to match.
    """
    try:
        from dashboard.catalog.models import QueueDefinition

        names = list(
            QueueDefinition.objects.filter(queue=library_queue).values_list("name", flat=True)[:1]
        )
    except Exception:  # noqa: BLE001 - no table yet (migrations): keep the library name
        return library_queue
    return names[0] if names else library_queue


def _active(fingerprint: str) -> Alert | None:
    return Alert.objects.filter(fingerprint=fingerprint, state__in=ACTIVE_STATES).first()


def _open_status_alert(
    *,
    kind: str,
    fingerprint: str,
    severity: Severity,
    status: str,
    queue: str = "",
    group: str = "",
    redis_url: str = "",
    summary: str,
    details: dict[str, Any],
) -> Alert:
    """Create the active alert of ``fingerprint``, or return it when a racer just did."""
    try:
        with transaction.atomic():
            return Alert.objects.create(
                kind=kind,
                fingerprint=fingerprint,
                severity=severity,
                status=status,
                queue=queue,
                group=group,
                # Never the raw URL: rows are shown, exported and sent (inhibition compares
                # redacted URLs on both sides, see alerts.dispatch).
                redis_url=redact_url(redis_url),
                summary=summary,
                details=details,
                notify_state=NotifyState.PENDING,
            )
    except IntegrityError:
        # Another monitor opened it between our read and write (unique active fingerprint).
        existing = _active(fingerprint)
        if existing is None:
            raise
        return existing


def _resolve_system(alert: Alert, *, details: dict[str, Any] | None = None) -> Alert:
    """Resolve on recovery (no user); notified as a resolution."""
    alert.state = AlertState.RESOLVED
    alert.resolved_at = timezone.now()
    alert.resolved_by = None
    alert.notify_state = NotifyState.PENDING
    if details is not None:
        alert.details = {**alert.details, "resolved": details}
    alert.save()
    return alert


def _due_for_repeat(alert: _Held) -> bool:
    """Whether a held, unacknowledged status alert may be notified again."""
    if alert.state != AlertState.OPEN or alert.notify_state == NotifyState.PENDING:
        return False
    if alert.last_notified_at is None:
        return False
    return timezone.now() - alert.last_notified_at >= timedelta(seconds=conf.repeat_interval())


class _Held(NamedTuple):
    """What the status sync reads of an active alert: read as plain values, not as model
    instances (70 000 of them cost seconds when a storm resolves)."""

    pk: int
    status: str
    severity: str
    state: str
    notify_state: str
    last_notified_at: datetime | None
    details: Any


@dataclass(frozen=True)
class StatusChange:
    """The current status of one (kind, queue, group), for ``sync_status_alerts``."""

    kind: str
    queue: str
    group: str | None
    status: str
    details: dict[str, Any] = field(default_factory=dict)
    redis_url: str = ""  # the queue's Redis; looked up from its definition when empty

    @property
    def fingerprint(self) -> str:
        return status_fingerprint(kind=self.kind, queue=self.queue, group=self.group)

    @property
    def summary(self) -> str:
        where = f"{self.queue}/{self.group}" if self.group else self.queue
        return f"{self.kind} {self.status} on {where}"[:500]


def _check(change: StatusChange) -> None:
    if change.kind not in (AlertKind.THRESHOLD, AlertKind.TREND, AlertKind.CLAIM_STORM):
        raise ValueError(
            f"sync_status_alert handles threshold, trend and claim_storm, not {change.kind!r}"
        )
    if change.status not in STATUS_SEVERITY:
        raise ValueError(
            f"unknown status {change.status!r}; expected one of {sorted(STATUS_SEVERITY)}"
        )


#: Fingerprints per ``IN (...)`` query (SQLite allows 999 parameters per statement).
CHUNK = 500
#: From this many fingerprints on, every active status alert is read in one query and the
#: wanted ones picked out (a storm: 140 ``IN`` queries of 500 cost seconds on PostgreSQL).
READ_ALL_FROM = 5000
_STATUS_KINDS = (AlertKind.THRESHOLD, AlertKind.TREND, AlertKind.CLAIM_STORM)


def _active_by_fingerprint(fingerprints: list[str]) -> dict[str, _Held]:
    columns = ("fingerprint", *_Held._fields)
    active = Alert.objects.filter(state__in=ACTIVE_STATES).order_by()
    if len(fingerprints) >= READ_ALL_FROM:
        wanted = set(fingerprints)
        rows = active.filter(kind__in=_STATUS_KINDS).values_list(*columns)
        return {row[0]: _Held._make(row[1:]) for row in rows.iterator() if row[0] in wanted}
    found: dict[str, _Held] = {}
    for start in range(0, len(fingerprints), CHUNK):
        chunk = fingerprints[start : start + CHUNK]
        for row in active.filter(fingerprint__in=chunk).values_list(*columns):
            found[row[0]] = _Held._make(row[1:])
    return found


#: Above this many rows, alerts are inserted and updated in bulk (one prepared statement on
#: SQLite, COPY on PostgreSQL: dashboard.monitor.writes). ``bulk_create`` compiled one
#: INSERT per 41 rows on SQLite and ``bulk_update`` one CASE per column per 500 rows: most
#: of an incident's cycle.
RAW_INSERT_FROM = 50
_ALERT_FIELDS = [f for f in Alert._meta.concrete_fields]
_ALERT_DEFAULTS = {
    f.attname: None if f.primary_key or f.has_default() and callable(f.default) else f.get_default()
    for f in _ALERT_FIELDS
}


def _new_alert(**values: Any) -> Alert:
    """An unsaved Alert built from positional values: the keyword path of ``Model.__init__``
    looks up every field's default (most of 70 000 new alerts' cost); callable defaults
    (``details``) must be given."""
    model: Any = Alert
    return cast(
        Alert, model(*[values.get(f.attname, _ALERT_DEFAULTS[f.attname]) for f in _ALERT_FIELDS])
    )


def _db_values(alerts: list[Alert], fields: list[models.Field[Any, Any]], now: Any) -> list[Any]:
    """Each alert's values of ``fields`` prepared for the database (``now`` prepared once)."""
    db = connections[Alert.objects.db]  # the connection itself, not the per-access proxy
    plain = (models.CharField, models.TextField, models.BooleanField, models.IntegerField)
    prepare = [None if isinstance(f, plain) and not f.is_relation else f for f in fields]
    stamp = {None: None, id(now): models.DateTimeField().get_db_prep_save(now, db)}
    rows = []
    for alert in alerts:
        row = []
        for f, prep in zip(fields, prepare, strict=True):
            value = getattr(alert, f.attname)
            if prep is None:
                row.append(value)
            elif isinstance(prep, models.DateTimeField) and (value is None or value is now):
                row.append(stamp[None if value is None else id(now)])  # prepared once
            else:
                row.append(prep.get_db_prep_save(value, db))
        rows.append(row)
    return rows


def _insert_alerts(alerts: list[Alert]) -> None:
    """Insert new alert rows and set their primary keys (found again by fingerprint among
    the rows after the last one before the insert: one active alert per fingerprint)."""
    if len(alerts) < RAW_INSERT_FROM:
        Alert.objects.bulk_create(alerts, batch_size=CHUNK)
        return
    now = timezone.now()
    for alert in alerts:
        alert.created_at = alert.updated_at = now
    fields = [f for f in _ALERT_FIELDS if not f.primary_key]
    db = connections[Alert.objects.db]
    quote = db.ops.quote_name
    before = Alert.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    insert_rows(
        db,
        quote(Alert._meta.db_table),
        [quote(str(f.column)) for f in fields],
        _db_values(alerts, fields, now),
    )
    # Keys only grow (AUTOINCREMENT, a sequence): the new rows are after ``before``, and
    # a row another process added meanwhile has no fingerprint of ours, or is refused by
    # the unique active fingerprint before we get here.
    by_fingerprint = {a.fingerprint: a for a in alerts}
    for pk, fingerprint in Alert.objects.filter(pk__gt=before, state__in=ACTIVE_STATES).values_list(
        "pk", "fingerprint"
    ):
        mine = by_fingerprint.get(fingerprint)
        if mine is not None:
            mine.pk = pk
            mine._state.adding = False


def _column(name: str) -> str:
    column = next(f.column for f in _ALERT_FIELDS if f.name == name)
    return connections[Alert.objects.db].ops.quote_name(str(column))


def _update_alerts(names: list[str], rows: list[list[Any]]) -> None:
    """Write the fields ``names`` of existing alerts: each row their values prepared for the
    database, then the alert's key (``dashboard.monitor.writes.update_rows``)."""
    db = connections[Alert.objects.db]
    update_rows(
        db,
        db.ops.quote_name(Alert._meta.db_table),
        _column("id"),
        [_column(name) for name in names],
        rows,
    )


def _runs(changes: list[StatusChange]) -> list[list[StatusChange]]:
    """``changes`` cut, in order, into runs in which no alert comes twice."""
    runs: list[list[StatusChange]] = [[]]
    seen: set[str] = set()
    for change in changes:
        if change.fingerprint in seen:
            runs.append([])
            seen = set()
        seen.add(change.fingerprint)
        runs[-1].append(change)
    return runs


def sync_status_alerts(*, changes: list[StatusChange]) -> list[Alert | None]:
    """``record_status_changes``, returning per change the active (or just resolved) alert,
    None when healthy."""
    keys = record_status_changes(changes=changes)
    found = Alert.objects.in_bulk([pk for pk in keys if pk is not None])
    return [None if pk is None else found.get(pk) for pk in keys]


def record_status_changes(*, changes: list[StatusChange]) -> list[int | None]:
    """Keep one threshold / trend / claim_storm alert per (kind, queue, group) in step, for
    many at once in a few queries (an incident turns thousands of statuses at once).

    Per change: opens an alert when the status turns non-ok, updates severity (and notifies)
    when it changes, resolves it on return to ok; while a status holds no row is written,
    except that an unacknowledged alert is re-notified every ``repeat_interval``. Returns,
    per change, the key of the active (or just resolved) alert, None when healthy; no model
    instance is made of the alerts it reads. The changed alerts are pushed to live pages in
    one message. Never raises on notification issues.
    """
    for change in changes:
        _check(change)
    runs = _runs(changes)
    if len(runs) > 1:  # the same alert twice: each run sees what the one before wrote
        return [key for run in runs for key in record_status_changes(changes=run)]
    active = _active_by_fingerprint([c.fingerprint for c in changes])
    urls: dict[str, str] = {}
    keys: list[int | None] = []
    opened: list[tuple[int, Alert]] = []
    resolved: list[tuple[int, dict[str, Any]]] = []
    changed: list[tuple[int, StatusChange, Severity]] = []
    repeat: list[int] = []
    moved: Counter[Key] = Counter()  # alerts leaving a severity (see alerts.counting)
    for change in changes:
        severity = STATUS_SEVERITY[change.status]
        held = active.get(change.fingerprint)
        if held is None and severity is None:
            keys.append(None)
        elif held is None:
            if change.queue not in urls:
                # Never the raw URL: rows are shown, exported and sent.
                urls[change.queue] = redact_url(
                    change.redis_url or queue_redis_url(queue=change.queue)
                )
            alert = _new_alert(
                kind=change.kind,
                fingerprint=change.fingerprint,
                severity=severity,
                status=change.status,
                queue=change.queue,
                group=change.group or "",
                redis_url=urls[change.queue],
                summary=change.summary,
                details=change.details,
                notify_state=NotifyState.PENDING,
            )
            opened.append((len(keys), alert))
            keys.append(None)  # known once inserted
        else:
            keys.append(held.pk)
            if severity is None:
                resolved.append((held.pk, {**held.details, "resolved": change.details}))
            elif held.status != change.status or held.severity != severity:
                changed.append((held.pk, change, severity))
                if held.severity != severity:  # counted at the new one from now on
                    moved[(change.kind, held.severity, "", "")] += 1
            elif _due_for_repeat(held):
                repeat.append(held.pk)
    with transaction.atomic():
        if opened:
            try:
                with transaction.atomic():
                    _insert_alerts([a for _, a in opened])
                for index, alert in opened:
                    keys[index] = alert.pk
            except IntegrityError:
                # Another monitor opened some of them between our read and write.
                for index, alert in opened:
                    alert.pk = None
                    keys[index] = _open_status_alert(
                        kind=alert.kind,
                        fingerprint=alert.fingerprint,
                        severity=Severity(alert.severity),
                        status=alert.status,
                        queue=alert.queue,
                        group=alert.group,
                        redis_url=alert.redis_url,
                        summary=alert.summary,
                        details=alert.details,
                    ).pk
        _write_changes(resolved, changed)
        retire(moved)
        for start in range(0, len(repeat), CHUNK):
            Alert.objects.filter(pk__in=repeat[start : start + CHUNK]).update(
                notify_state=NotifyState.PENDING
            )
        touched = [keys[i] for i, _ in opened] + [pk for pk, _ in resolved]
        _publish_keys([pk for pk in touched if pk is not None] + [pk for pk, _, _ in changed])
    return keys


def _write_changes(
    resolved: list[tuple[int, dict[str, Any]]],
    changed: list[tuple[int, StatusChange, Severity]],
) -> None:
    """Resolve the alerts of ``resolved`` (key, details) and give those of ``changed`` their
    new status; every one of them is to be notified."""
    db = connections[Alert.objects.db]
    now = Alert._meta.get_field("updated_at").get_db_prep_save(timezone.now(), db)
    details = Alert._meta.get_field("details")
    pending = NotifyState.PENDING.value
    _update_alerts(
        ["state", "resolved_at", "resolved_by", "details", "notify_state", "updated_at"],
        [
            [AlertState.RESOLVED.value, now, None, details.get_db_prep_save(extra, db), pending]
            + [now, pk]
            for pk, extra in resolved
        ],
    )
    _update_alerts(
        ["status", "severity", "details", "summary", "notify_state", "updated_at"],
        [
            [change.status, severity.value, details.get_db_prep_save(change.details, db)]
            + [change.summary, pending, now, pk]
            for pk, change, severity in changed
        ],
    )


def _publish_keys(keys: list[int]) -> None:
    """Push the alerts of ``keys`` to live pages in one message: the newest MAX_BULK_PUSH
    are read (the page shows no more), the count is of them all."""
    if not keys:
        return
    newest = sorted(keys)[-MAX_BULK_PUSH:]
    alerts = list(Alert.objects.filter(pk__in=newest).order_by("pk"))
    publish_alerts(alerts, count=len(keys))


def sync_status_alert(
    *,
    kind: str,
    queue: str,
    group: str | None,
    status: str,
    details: dict[str, Any],
    redis_url: str = "",
) -> Alert | None:
    """``sync_status_alerts`` for one (kind, queue, group); see there."""
    change = StatusChange(kind, queue, group, status, details, redis_url)
    return sync_status_alerts(changes=[change])[0]


def set_redis_reachable(*, redis_url: str, reachable: bool, error: str = "") -> None:
    """Open (unreachable) or resolve (reachable again) the ``redis_unreachable`` alert.

    While it is open, threshold / trend notifications of queues on that Redis are inhibited.
    """
    fingerprint = redis_fingerprint(redis_url=redis_url)
    alert = _active(fingerprint)
    if reachable:
        if alert is not None:
            publish_alert(_resolve_system(alert))
        return
    if alert is None:
        alert = _open_status_alert(
            kind=AlertKind.REDIS_UNREACHABLE,
            fingerprint=fingerprint,
            severity=Severity.ALERT,
            status="down",
            redis_url=redis_url,
            summary=f"Redis unreachable: {redact_url(redis_url)}",
            details={"error": error},
        )
        publish_alert(alert)
    elif error and alert.details.get("error") != error:
        # Keep the latest error visible; not a new notification.
        Alert.objects.filter(pk=alert.pk).update(details={**alert.details, "error": error})


def set_monitor_alive(*, alive: bool, detail: str = "") -> None:
    """Open (not alive) or resolve the single ``monitor_down`` alert."""
    fingerprint = f"{AlertKind.MONITOR_DOWN}:"
    alert = _active(fingerprint)
    if alive:
        if alert is not None:
            publish_alert(_resolve_system(alert))
        return
    if alert is None:
        publish_alert(
            _open_status_alert(
                kind=AlertKind.MONITOR_DOWN,
                fingerprint=fingerprint,
                severity=Severity.ALERT,
                status="down",
                summary="Monitor is not running",
                details={"detail": detail},
            )
        )


EVENT_SEVERITY = {
    AlertKind.CLAIMED: Severity.WARN,
    AlertKind.DEAD_LETTERED: Severity.ALERT,
    # the group's pending entries (parked retries included) were lost with it
    AlertKind.GROUP_RECREATED: Severity.ALERT,
    # claimed / dead_lettered events were lost before they became alerts
    AlertKind.EVENTS_DROPPED: Severity.ALERT,
}


def _dead_letter_severities(queues: set[str]) -> dict[str, Severity]:
    """Severity of a new dead letter per queue, as its dead-letter thresholds call the
    queue's last known dead-letter count (this one at least): with "warn at 1, alert at 100"
    a single dead letter is a warning, not an alert. Without dead-letter levels: alert."""
    from dashboard.catalog.models import QueueDefinition, Threshold
    from dashboard.models import QueueState

    definitions = {d.name: d for d in QueueDefinition.objects.filter(name__in=queues)}
    rows = list(
        Threshold.objects.filter(
            models.Q(queue__isnull=True) | models.Q(queue__name__in=list(queues))
        )
    )
    counts = dict(
        QueueState.objects.filter(queue__in=queues).values_list("queue", "data__dead_letters")
    )
    out = {}
    for queue in queues:
        thresholds = Threshold.effective_for(definitions.get(queue), rows=rows)
        level = thresholds.levels["dead_letters"]
        if level.warn is None and level.alert is None:
            out[queue] = Severity.ALERT
            continue
        known = counts.get(queue)
        count = max(1, int(known) if isinstance(known, int | float) else 0)
        status = thresholds.status_of("dead_letters", count)
        out[queue] = {"alert": Severity.ALERT, "warn": Severity.WARN}.get(status, Severity.INFO)
    return out


def _event_summary(
    kind: str, queue: str, group: str, message_id: str, details: dict[str, Any] | None = None
) -> str:
    if kind == AlertKind.GROUP_RECREATED:
        details = details or {}
        return (
            f"consumer group {group} of {queue} re-created at {details.get('start', '?')} "
            f"by {details.get('consumer', '?')}"
        )
    if kind == AlertKind.EVENTS_DROPPED:
        return (
            f"{(details or {}).get('count', '?')} library events of {queue} dropped before "
            "they were ingested (events stream at its bound)"
        )
    verb = "claimed" if kind == AlertKind.CLAIMED else "dead-lettered"
    # a claim the monitor inferred on a plain stream says so wherever the alert is shown
    inferred = " (inferred)" if (details or {}).get("inferred") is True else ""
    return f"message {message_id} {verb} on {queue}/{group}{inferred}"


def record_event_alert(
    *,
    kind: str,
    queue: str,
    event_id: str,
    group: str = "",
    message_id: str = "",
    details: dict[str, Any] | None = None,
) -> tuple[Alert, bool]:
    """One row per library event, idempotent on (queue, event_id): returns (alert, created)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"record_event_alert handles {EVENT_KINDS}, not {kind!r}")
    return Alert.objects.get_or_create(
        queue=queue,
        event_id=event_id,
        defaults={
            "kind": kind,
            "severity": _dead_letter_severities({queue})[queue]
            if kind == AlertKind.DEAD_LETTERED
            else EVENT_SEVERITY[AlertKind(kind)],
            "group": group,
            "message_id": message_id,
            "summary": _event_summary(kind, queue, group, message_id, details),
            "details": details or {},
            "notify_state": NotifyState.PENDING,
        },
    )


def record_inferred_claims(*, claims: list[dict[str, Any]]) -> int:
    """Claimed-alert rows for claims the monitor inferred on plain streams (each dict:
    queue, group, message_id, event_id, details with ``"inferred": True``); idempotent on
    the event id, so a claim recorded twice is one row. Returns rows created."""
    events = [
        EventAlert(
            kind=AlertKind.CLAIMED,
            queue=str(c["queue"]),
            event_id=str(c["event_id"]),
            group=str(c["group"]),
            message_id=str(c["message_id"]),
            details=dict(c["details"]),
        )
        for c in claims
    ]
    with transaction.atomic():
        return record_event_alerts(events=events)


def _audit(*, user: User, action: str, alert: Alert) -> None:
    """An audit-log row (the dashboard's AuditLog) for an operator action on an alert."""
    from dashboard.models import AuditLog

    username = user.get_username() if getattr(user, "is_authenticated", False) else ""
    target = f"{alert.queue}/alert:{alert.pk}" if alert.queue else f"alert:{alert.pk}"
    AuditLog.objects.create(
        user=user if username else None,  # type: ignore[misc]
        username=username,
        action=action,
        target=target,
        details={"kind": alert.kind, "message_id": alert.message_id, "state": alert.state},
    )


@dataclass(frozen=True)
class EventAlert:
    """One library event to record as an alert row (see ``record_event_alerts``)."""

    kind: str
    queue: str
    event_id: str
    group: str = ""
    message_id: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def record_event_alerts(*, events: list[EventAlert], publish_newest: int = 20) -> int:
    """Bulk form of ``record_event_alert`` for a batch of events; returns rows created.

    Idempotent on (queue, event_id): events already recorded are skipped (and a racing
    ingester's rows are ignored by the unique constraint). Pushes the ``publish_newest``
    newest new rows to live pages: a storm would otherwise cost one round trip per row.
    """
    if not events:
        return 0
    existing = set(
        Alert.objects.filter(
            queue__in={e.queue for e in events}, event_id__in=[e.event_id for e in events]
        ).values_list("queue", "event_id")
    )
    dead_letters = {e.queue for e in events if e.kind == AlertKind.DEAD_LETTERED}
    dead_severity = _dead_letter_severities(dead_letters) if dead_letters else {}
    rows: dict[tuple[str, str], Alert] = {}
    for e in events:
        if e.kind not in EVENT_KINDS:
            raise ValueError(f"record_event_alerts handles {EVENT_KINDS}, not {e.kind!r}")
        key = (e.queue, e.event_id)
        if key in existing or key in rows:
            continue
        rows[key] = Alert(
            kind=e.kind,
            severity=dead_severity.get(e.queue, EVENT_SEVERITY[AlertKind(e.kind)])
            if e.kind == AlertKind.DEAD_LETTERED
            else EVENT_SEVERITY[AlertKind(e.kind)],
            queue=e.queue,
            group=e.group,
            message_id=e.message_id,
            event_id=e.event_id,
            summary=_event_summary(e.kind, e.queue, e.group, e.message_id, e.details),
            details=e.details,
            notify_state=NotifyState.PENDING,
        )
    if not rows:
        return 0
    Alert.objects.bulk_create(list(rows.values()), batch_size=500, ignore_conflicts=True)
    if publish_newest > 0:
        newest = list(rows)[-publish_newest:]
        publish_alerts(
            list(
                Alert.objects.filter(
                    queue__in={q for q, _ in newest}, event_id__in=[eid for _, eid in newest]
                ).order_by("id")
            )
        )
    return len(rows)


def alert_acknowledge(*, alert: Alert, user: User) -> Alert:
    """An operator takes the alert: open → acknowledged (stops repeat notifications)."""
    if alert.state == AlertState.ACKNOWLEDGED:
        return alert
    if alert.state != AlertState.OPEN:
        raise AlertStateError(f"alert {alert.pk} is {alert.state}; only open alerts can be acked")
    alert.state = AlertState.ACKNOWLEDGED
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = user if getattr(user, "pk", None) else None  # type: ignore[assignment]
    alert.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "updated_at"])
    _audit(user=user, action="alert.acknowledge", alert=alert)
    publish_alert(alert)
    return alert


def alert_resolve(*, alert: Alert, user: User) -> Alert:
    """An operator closes the alert: open / acknowledged → resolved."""
    if alert.state == AlertState.RESOLVED:
        return alert
    alert.state = AlertState.RESOLVED
    alert.resolved_at = timezone.now()
    alert.resolved_by = user if getattr(user, "pk", None) else None  # type: ignore[assignment]
    alert.save(update_fields=["state", "resolved_at", "resolved_by", "updated_at"])
    _audit(user=user, action="alert.resolve", alert=alert)
    publish_alert(alert)
    return alert


#: Bulk actions and the states they apply to (the others are left as they are).
BULK_FROM = {
    "acknowledge": [AlertState.OPEN],
    "resolve": [AlertState.OPEN, AlertState.ACKNOWLEDGED],
}


def alerts_bulk(
    *, user: User, action: str, filters: dict[str, str], ids: list[int] | None = None
) -> int:
    """Acknowledge or resolve every alert matching ``filters`` (and, when given, among
    ``ids``) in ONE update and ONE audit-log row with the count; returns the count. The
    caller checks the permission. Alerts already in (or past) the target state are left."""
    from alerts.selectors import alert_queryset
    from dashboard.models import AuditLog

    if action not in BULK_FROM:
        raise ValueError(f"unknown bulk action {action!r}; one of {', '.join(BULK_FROM)}")
    qs = alert_queryset(**filters).filter(state__in=BULK_FROM[action])
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    now = timezone.now()
    who = user if getattr(user, "pk", None) else None
    with transaction.atomic():
        if action == "acknowledge":
            count = qs.update(
                state=AlertState.ACKNOWLEDGED,
                acknowledged_at=now,
                acknowledged_by=who,
                updated_at=now,
            )
            changed = Alert.objects.filter(acknowledged_at=now, state=AlertState.ACKNOWLEDGED)
        else:
            count = qs.update(
                state=AlertState.RESOLVED, resolved_at=now, resolved_by=who, updated_at=now
            )
            changed = Alert.objects.filter(resolved_at=now, state=AlertState.RESOLVED)
        username = user.get_username() if getattr(user, "is_authenticated", False) else ""
        scope = {k: v for k, v in filters.items() if v}
        AuditLog.objects.create(
            user=who,  # type: ignore[misc]
            username=username,
            action=f"alert.bulk_{action}",
            target=scope.get("queue", "") or "alerts",
            details={
                "count": count,
                "filters": scope,
                "ids": None if ids is None else ids[:100],
                "selected": None if ids is None else len(ids),
            },
        )
        # live pages get the newest of them in one message (alerts.live bounds it)
        if count:
            publish_alerts(list(changed.order_by("-pk")[:MAX_BULK_PUSH]))
    return count
