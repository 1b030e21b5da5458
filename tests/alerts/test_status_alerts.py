"""Threshold / trend / Redis alerts open on a change, never repeat, resolve on recovery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from alerts.exceptions import AlertStateError
from alerts.models import Alert, AlertKind, NotifyState
from alerts.services import (
    alert_acknowledge,
    alert_resolve,
    set_monitor_alive,
    set_redis_reachable,
    sync_status_alert,
)

pytestmark = pytest.mark.django_db


def sync(status: str, kind: str = "threshold") -> Alert | None:
    return sync_status_alert(
        kind=kind, queue="orders", group="billing", status=status, details={"lag": 5}
    )


def test_threshold_alert_opens_once_holds_without_repeats_and_resolves_on_recovery() -> None:
    assert sync("ok") is None
    assert Alert.objects.count() == 0

    first = sync("warn")
    for _ in range(5):
        assert sync("warn") == first
    assert Alert.objects.count() == 1
    assert first is not None and first.severity == "warn" and first.state == "open"

    escalated = sync("alert")
    assert escalated is not None and escalated.pk == first.pk and escalated.severity == "alert"
    assert Alert.objects.count() == 1

    resolved = sync("ok")
    assert resolved is not None and resolved.state == "resolved"
    assert resolved.resolved_at is not None and resolved.resolved_by is None
    assert sync("ok") is None

    again = sync("warn")
    assert again is not None and again.pk != first.pk
    assert Alert.objects.count() == 2


def test_trend_statuses_map_to_severities() -> None:
    stall = sync("STALL", kind="trend")
    assert stall is not None and (stall.kind, stall.severity, stall.status) == (
        "trend",
        "alert",
        "STALL",
    )
    rewind = sync("REWIND", kind="trend")
    assert rewind is not None and rewind.pk == stall.pk and rewind.severity == "warn"
    assert sync("OK", kind="trend").state == "resolved"  # type: ignore[union-attr]


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown status"):
        sync("purple")


def test_held_alert_is_renotified_after_repeat_interval_unless_acknowledged(settings) -> None:
    settings.STREAMWARDEN_ALERTS_REPEAT_INTERVAL = 60
    alert = sync("warn")
    assert alert is not None
    Alert.objects.filter(pk=alert.pk).update(
        notify_state=NotifyState.SENT, last_notified_at=timezone.now() - timedelta(seconds=30)
    )
    sync("warn")
    assert Alert.objects.get(pk=alert.pk).notify_state == NotifyState.SENT

    Alert.objects.filter(pk=alert.pk).update(
        last_notified_at=timezone.now() - timedelta(seconds=61)
    )
    sync("warn")
    assert Alert.objects.get(pk=alert.pk).notify_state == NotifyState.PENDING
    assert Alert.objects.count() == 1

    Alert.objects.filter(pk=alert.pk).update(notify_state=NotifyState.SENT)
    alert_acknowledge(alert=Alert.objects.get(pk=alert.pk), user=get_user_model()())
    sync("warn")
    assert Alert.objects.get(pk=alert.pk).notify_state == NotifyState.SENT


def test_redis_unreachable_opens_once_and_resolves() -> None:
    url = "redis://10.0.0.1:6379/0"
    set_redis_reachable(redis_url=url, reachable=True)
    assert Alert.objects.count() == 0
    set_redis_reachable(redis_url=url, reachable=False, error="refused")
    set_redis_reachable(redis_url=url, reachable=False, error="timeout")
    alert = Alert.objects.get()
    assert (alert.kind, alert.state, alert.details["error"]) == (
        AlertKind.REDIS_UNREACHABLE,
        "open",
        "timeout",
    )
    set_redis_reachable(redis_url=url, reachable=True)
    assert Alert.objects.get().state == "resolved"


def test_monitor_down_opens_and_resolves() -> None:
    set_monitor_alive(alive=False, detail="no heartbeat")
    set_monitor_alive(alive=False)
    assert Alert.objects.get().state == "open"
    set_monitor_alive(alive=True)
    assert Alert.objects.get().state == "resolved"


def test_operator_acknowledges_then_resolves_with_who_and_when() -> None:
    user = get_user_model().objects.create_user("oncall", password="x")
    alert = sync("alert")
    assert alert is not None
    alert_acknowledge(alert=alert, user=user)
    assert (alert.state, alert.acknowledged_by) == ("acknowledged", user)
    assert alert.acknowledged_at is not None
    alert_resolve(alert=alert, user=user)
    assert (alert.state, alert.resolved_by) == ("resolved", user)
    with pytest.raises(AlertStateError):
        alert_acknowledge(alert=alert, user=user)


def test_an_incident_of_many_statuses_opens_changes_and_resolves_them_in_bulk() -> None:
    """Above RAW_INSERT_FROM the rows are written in bulk (dashboard.monitor.writes): each
    comes back with its key, and severity changes and resolutions reach every row, twice
    in one transaction too."""
    from alerts.services import RAW_INSERT_FROM, StatusChange, sync_status_alerts

    n = RAW_INSERT_FROM * 3
    Alert.objects.create(kind=AlertKind.CLAIMED, queue="q-0", event_id="1-0")  # not a status

    def changes(status: str) -> list[StatusChange]:
        return [
            StatusChange("threshold", f"q-{i}", "billing", status, {"lag": i}, "redis://h:6379")
            for i in range(n)
        ]

    opened = sync_status_alerts(changes=changes("warn"))
    rows = {a.pk: a for a in Alert.objects.filter(kind=AlertKind.THRESHOLD)}
    assert len(rows) == n and all(a is not None and a.pk in rows for a in opened)
    assert {(a.fingerprint, a.pk) for a in opened if a} == {
        (a.fingerprint, a.pk) for a in rows.values()
    }
    assert all(a.state == "open" and a.severity == "warn" for a in rows.values())
    assert rows[opened[7].pk].details == {"lag": 7}  # type: ignore[union-attr]

    with transaction.atomic():  # two bulk updates in one transaction
        sync_status_alerts(changes=changes("alert"))
        assert set(Alert.objects.filter(kind="threshold").values_list("status", flat=True)) == {
            "alert"
        }
        sync_status_alerts(changes=changes("warn"))
    assert set(Alert.objects.filter(kind="threshold").values_list("status", flat=True)) == {"warn"}
    escalated = sync_status_alerts(changes=changes("alert"))
    assert [a.pk for a in escalated if a] == [a.pk for a in opened if a]
    assert set(Alert.objects.filter(kind="threshold").values_list("severity", flat=True)) == {
        "alert"
    }
    assert sync_status_alerts(changes=changes("ok")) == escalated
    resolved = Alert.objects.filter(kind="threshold")
    assert {a.state for a in resolved} == {"resolved"}
    assert all(a.resolved_at is not None and a.notify_state == "pending" for a in resolved)
    seventh = resolved.get(pk=opened[7].pk)  # type: ignore[union-attr]
    assert seventh.details == {"lag": 7, "resolved": {"lag": 7}} and seventh.status == "alert"
    assert Alert.objects.get(kind=AlertKind.CLAIMED).state == "open"


def test_the_same_alert_twice_in_one_batch_takes_each_change_in_order() -> None:
    from alerts.services import StatusChange, record_status_changes

    def change(status: str, queue: str = "orders") -> StatusChange:
        return StatusChange("threshold", queue, "billing", status, {"lag": 1}, "redis://h:6379")

    keys = record_status_changes(
        changes=[change("warn"), change("warn", "other"), change("alert"), change("ok")]
    )
    orders = Alert.objects.get(queue="orders")
    assert keys == [orders.pk, Alert.objects.get(queue="other").pk, orders.pk, orders.pk]
    assert (orders.state, orders.severity, orders.status) == ("resolved", "alert", "alert")
    assert orders.details == {"lag": 1, "resolved": {"lag": 1}}
