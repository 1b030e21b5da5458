"""Turns alerts waiting for notification into notifications and delivery jobs.

Run periodically by the notifier process (``manage.py notifier``), never by the monitor, so
the monitor only writes alert rows. Policy, in order, per tick:

0. Claims of a (queue, group) with an open ``claim_storm`` alert are not grouped into "N
   messages claimed" notifications: the storm alert is the one notification (status kind).
1. Inhibition / silence ends: open status alerts that were inhibited or silenced become
   pending again once nothing inhibits or silences them.
2. Claims and dead letters: pending rows are grouped per (queue, kind); a group is flushed
   when its oldest row is ``group_window`` old, as ONE notification with the count and a
   sample of message ids. Rows matching an active silence are marked silenced instead.
3. Status alerts (threshold, trend, redis_unreachable, monitor_down): each pending change is
   one notification, unless silenced, or inhibited (threshold/trend of a Redis that has an
   active redis_unreachable alert). A resolution is notified only if the problem was. When
   more threshold / trend / claim-storm changes than ``status_group_over`` wait at once (an
   incident), those sent go out as one notification per kind, severity and direction.
4. Each notification gets one delivery job per matching channel in the notifications queue;
   a notification whose jobs could not be enqueued (Redis down) is retried next tick.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from alerts import conf, outbox
from alerts.models import (
    ACTIVE_STATES,
    EVENT_KINDS,
    INHIBITED_KINDS,
    SEVERITY_RANK,
    STATUS_KINDS,
    Alert,
    AlertKind,
    AlertState,
    Notification,
    NotificationChannel,
    NotifyState,
    Severity,
    Silence,
)

logger = logging.getLogger(__name__)

#: Status kinds an incident multiplies (one per queue or group): grouped when many change at
#: once. Redis unreachable and monitor down stay one notification each.
GROUPABLE_KINDS = (AlertKind.THRESHOLD, AlertKind.TREND, AlertKind.CLAIM_STORM)


def active_silences(*, now: datetime) -> list[Silence]:
    return list(Silence.objects.filter(starts_at__lte=now, ends_at__gt=now))


def _silenced(alert: Alert, silences: Iterable[Silence]) -> bool:
    return any(
        s.matches(queue=alert.queue, kind=alert.kind, severity=alert.severity, group=alert.group)
        for s in silences
    )


def _unreachable_redis_urls() -> set[str]:
    return set(
        Alert.objects.filter(kind=AlertKind.REDIS_UNREACHABLE, state__in=ACTIVE_STATES).values_list(
            "redis_url", flat=True
        )
    )


def _inhibited(alert: Alert, down: set[str]) -> bool:
    return alert.kind in INHIBITED_KINDS and bool(alert.redis_url) and alert.redis_url in down


def _alert_url(path: str) -> str:
    return f"{conf.site_url()}{path}"


def _reopen_released(*, silences: list[Silence], down: set[str]) -> None:
    held = Alert.objects.filter(
        state=AlertState.OPEN,
        kind__in=STATUS_KINDS,
        notify_state__in=[NotifyState.SILENCED, NotifyState.INHIBITED],
    )
    for alert in held:
        if not _silenced(alert, silences) and not _inhibited(alert, down):
            Alert.objects.filter(pk=alert.pk, notify_state=alert.notify_state).update(
                notify_state=NotifyState.PENDING
            )


def _storm_groups(queue: str) -> set[str]:
    """Groups of ``queue`` with an active claim-storm alert."""
    return set(
        Alert.objects.filter(
            kind=AlertKind.CLAIM_STORM, queue=queue, state__in=ACTIVE_STATES
        ).values_list("group", flat=True)
    )


def _flush_group(*, queue: str, kind: str, silences: list[Silence], now: datetime) -> int:
    with transaction.atomic():
        rows = list(
            Alert.objects.filter(notify_state=NotifyState.PENDING, kind=kind, queue=queue)
            .order_by("created_at", "id")
            .values("id", "message_id", "group", "severity", "created_at")
        )
        if not rows:
            return 0
        if kind == AlertKind.CLAIMED:
            # While a claim storm of the group is open, its claims are told by the storm
            # alert, not by "N messages claimed" notifications (each claim is still a row).
            stormy = _storm_groups(queue)
            covered = [r["id"] for r in rows if r["group"] in stormy]
            if covered:
                Alert.objects.filter(pk__in=covered, notify_state=NotifyState.PENDING).update(
                    notify_state=NotifyState.STORM
                )
                rows = [r for r in rows if r["group"] not in stormy]
                if not rows:
                    return 0
        silenced_ids = [
            r["id"]
            for r in rows
            if any(
                s.matches(queue=queue, kind=kind, severity=r["severity"], group=r["group"])
                for s in silences
            )
        ]
        if silenced_ids:
            Alert.objects.filter(pk__in=silenced_ids).update(notify_state=NotifyState.SILENCED)
        rows = [r for r in rows if r["id"] not in set(silenced_ids)]
        if not rows:
            return 0
        ids = [r["id"] for r in rows]
        updated = Alert.objects.filter(pk__in=ids, notify_state=NotifyState.PENDING).update(
            notify_state=NotifyState.SENT, last_notified_at=now
        )
        if updated != len(ids):  # another dispatcher took some: let it notify them
            transaction.set_rollback(True)
            return 0
        severity = max((r["severity"] for r in rows), key=lambda s: SEVERITY_RANK[Severity(s)])
        count = len(rows)
        plural = "" if count == 1 else "s"
        if kind == AlertKind.GROUP_RECREATED:
            title = f"[StreamWarden] {severity}: consumer group re-created on {queue}"
        elif kind == AlertKind.EVENTS_DROPPED:
            title = f"[StreamWarden] {severity}: library events dropped on {queue}"
        else:
            verb = "claimed" if kind == AlertKind.CLAIMED else "dead-lettered"
            title = f"[StreamWarden] {severity}: {count} message{plural} {verb} on {queue}"
        payload: dict[str, Any] = {
            "kind": kind,
            "queue": queue,
            "severity": severity,
            "status": "firing",
            "count": count,
            "groups": sorted({r["group"] for r in rows if r["group"]}),
            "sample_message_ids": [r["message_id"] for r in rows[: conf.sample_size()]],
            "first_at": rows[0]["created_at"].isoformat(),
            "last_at": rows[-1]["created_at"].isoformat(),
            "summary": f"{count} {kind} alerts on queue {queue} in the last window.",
            "url": _alert_url(f"/alerts/?queue={queue}&kind={kind}"),
        }
        Notification.objects.create(
            kind=kind, queue=queue, severity=severity, count=count, title=title, payload=payload
        )
    return 1


def _status_state(alert: Alert, *, silences: list[Silence], down: set[str]) -> str:
    """What becomes of one pending status change: sent, silenced, inhibited, or nothing (an
    end whose problem was never notified)."""
    if alert.state == AlertState.RESOLVED and alert.last_notified_at is None:
        return NotifyState.NONE
    if _silenced(alert, silences):
        return NotifyState.SILENCED
    if _inhibited(alert, down):
        return NotifyState.INHIBITED
    return NotifyState.SENT


def _flush_status(alert: Alert, *, silences: list[Silence], down: set[str], now: datetime) -> int:
    resolved = alert.state == AlertState.RESOLVED
    with transaction.atomic():
        state = _status_state(alert, silences=silences, down=down)
        updated = Alert.objects.filter(pk=alert.pk, notify_state=NotifyState.PENDING).update(
            notify_state=state,
            last_notified_at=now if state == NotifyState.SENT else alert.last_notified_at,
        )
        if updated != 1 or state != NotifyState.SENT:
            return 0
        where = alert.queue + (f"/{alert.group}" if alert.group else "") or alert.redis_display
        verb = "resolved" if resolved else alert.status or "firing"
        title = f"[StreamWarden] {alert.severity}: {alert.kind} {verb}"
        if where:
            title += f" on {where}"
        payload = {
            "kind": alert.kind,
            "queue": alert.queue,
            "group": alert.group,
            "groups": [alert.group] if alert.group else [],
            "severity": alert.severity,
            "status": "resolved" if resolved else "firing",
            "alert_status": alert.status,
            "count": 1,
            "alert_id": alert.pk,
            "redis_url": alert.redis_display,
            "summary": alert.summary,
            "details": alert.details,
            "first_at": alert.created_at.isoformat(),
            "url": _alert_url(f"/alerts/{alert.pk}/"),
        }
        Notification.objects.create(
            kind=alert.kind,
            queue=alert.queue,
            severity=alert.severity,
            resolved=resolved,
            count=1,
            title=title,
            payload=payload,
        )
    return 1


def _flush_status_grouped(
    alerts: list[Alert], *, silences: list[Silence], down: set[str], now: datetime
) -> int:
    """More status changes than ``status_group_over`` at once (an incident): each is
    recorded as sent, silenced or inhibited as one by one, but what is sent goes out as one
    notification per kind, severity and direction, naming every queue (channels filtered by
    queue get it when it names one of theirs)."""
    by_state: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        by_state[_status_state(alert, silences=silences, down=down)].append(alert)
    created = 0
    with transaction.atomic():
        for state, members in by_state.items():
            ids = [a.pk for a in members]
            updated = 0
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                fields: dict[str, Any] = {"notify_state": state}
                if state == NotifyState.SENT:
                    fields["last_notified_at"] = now
                updated += Alert.objects.filter(
                    pk__in=chunk, notify_state=NotifyState.PENDING
                ).update(**fields)
            if updated != len(ids):  # another dispatcher took some: let it notify them
                transaction.set_rollback(True)
                return 0
        grouped: dict[tuple[str, str, bool], list[Alert]] = defaultdict(list)
        for alert in by_state.get(NotifyState.SENT, []):
            resolved = alert.state == AlertState.RESOLVED
            grouped[(alert.kind, alert.severity, resolved)].append(alert)
        for (kind, severity, resolved), members in sorted(grouped.items()):
            members.sort(key=lambda a: (a.queue, a.group, a.pk))
            queues = sorted({a.queue for a in members})
            verb = "resolved" if resolved else "firing"
            count = len(members)
            title = (
                f"[StreamWarden] {severity}: {count} {kind} alerts {verb}"
                f" on {len(queues)} queue{'' if len(queues) == 1 else 's'}"
            )
            payload = {
                "kind": kind,
                "queue": "",
                "grouped": True,
                "queues": queues,
                "groups": [],
                "severity": severity,
                "status": verb,
                "count": count,
                "sample_alerts": [
                    {"alert_id": a.pk, "queue": a.queue, "group": a.group, "summary": a.summary}
                    for a in members[: conf.sample_size()]
                ],
                "first_at": min(a.created_at for a in members).isoformat(),
                "summary": (
                    f"{count} {kind} alerts {verb} at once on {len(queues)} queues"
                    f" ({', '.join(queues[: conf.sample_size()])}"
                    f"{', …' if len(queues) > conf.sample_size() else ''})."
                ),
                "url": _alert_url(f"/alerts/?kind={kind}"),
            }
            Notification.objects.create(
                kind=kind,
                queue="",
                severity=severity,
                resolved=resolved,
                count=count,
                title=title,
                payload=payload,
            )
            created += 1
    return created


def _enqueue_jobs(now: datetime) -> None:
    channels = list(NotificationChannel.objects.filter(enabled=True))
    for notification in Notification.objects.filter(enqueued_at__isnull=True).order_by("id"):
        # Take it first, so that two notifiers never both enqueue the same notification.
        taken = Notification.objects.filter(pk=notification.pk, enqueued_at__isnull=True).update(
            enqueued_at=now
        )
        if not taken:
            continue
        try:
            for channel in channels:
                if channel.takes(notification):
                    outbox.enqueue(
                        {"notification": notification.pk, "channel": channel.pk, "attempt": 1}
                    )
        except Exception:
            # Redis down: give it back for the next tick (a channel's job enqueued twice
            # is delivered once: delivery is idempotent per notification and channel).
            Notification.objects.filter(pk=notification.pk).update(enqueued_at=None)
            raise


def dispatch_due(*, now: datetime | None = None) -> int:
    """One dispatcher tick; returns the number of notifications created."""
    now = now or timezone.now()
    silences = active_silences(now=now)
    down = _unreachable_redis_urls()
    _reopen_released(silences=silences, down=down)
    created = 0
    window_start = now - timedelta(seconds=conf.group_window())
    groups = (
        Alert.objects.filter(notify_state=NotifyState.PENDING, kind__in=EVENT_KINDS)
        .values("queue", "kind")
        .annotate(oldest=Min("created_at"))
    )
    for group in groups:
        if group["oldest"] <= window_start:
            created += _flush_group(
                queue=group["queue"], kind=group["kind"], silences=silences, now=now
            )
    pending = list(
        Alert.objects.filter(notify_state=NotifyState.PENDING, kind__in=STATUS_KINDS).order_by(
            "created_at", "id"
        )
    )
    alone = [a for a in pending if a.kind not in GROUPABLE_KINDS]
    groupable = [a for a in pending if a.kind in GROUPABLE_KINDS]
    if len(groupable) > conf.status_group_over():
        created += _flush_status_grouped(groupable, silences=silences, down=down, now=now)
    else:
        alone += groupable
    for alert in alone:
        created += _flush_status(alert, silences=silences, down=down, now=now)
    try:
        _enqueue_jobs(now)
    except Exception:  # noqa: BLE001 - Redis down: the notifications wait for the next tick
        logger.warning("could not enqueue notification jobs; retrying next tick", exc_info=True)
    return created
