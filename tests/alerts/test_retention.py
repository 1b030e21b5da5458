"""Old alert data is pruned; what still matters is kept whatever its age."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, Notification, NotifyState, Silence
from alerts.retention import prune
from alerts.services import record_event_alert, sync_status_alert

pytestmark = pytest.mark.django_db


def test_prune_removes_old_rows_and_keeps_open_conditions_and_pending_ones(settings) -> None:
    settings.STREAMWARDEN_ALERTS_RETENTION_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    sent, _ = record_event_alert(kind="claimed", queue="q", event_id="1-0", message_id="1-0")
    waiting, _ = record_event_alert(kind="claimed", queue="q", event_id="2-0", message_id="2-0")
    recent, _ = record_event_alert(kind="claimed", queue="q", event_id="3-0", message_id="3-0")
    lag = sync_status_alert(kind="threshold", queue="q", group="g", status="alert", details={})
    assert lag is not None
    Alert.objects.filter(pk__in=[sent.pk, waiting.pk, lag.pk]).update(created_at=old)
    Alert.objects.filter(pk__in=[sent.pk, lag.pk, recent.pk]).update(notify_state=NotifyState.SENT)
    note = Notification.objects.create(kind="claimed", queue="q", severity="warn", title="t")
    Notification.objects.filter(pk=note.pk).update(created_at=old, enqueued_at=old)
    Silence.objects.create(comment="old", starts_at=old, ends_at=old + timedelta(hours=1))

    assert prune() == {"alerts": 1, "notifications": 1, "silences": 1}
    assert set(Alert.objects.values_list("pk", flat=True)) == {waiting.pk, recent.pk, lag.pk}


def test_prune_deletes_in_chunks_and_keeps_what_it_deleted_counted(settings, monkeypatch) -> None:
    """Rows go a chunk per transaction (a claim storm's million rows are not read at once),
    and every one deleted is added to the retired counts that /metrics adds to the rows."""
    from alerts import retention
    from alerts.models import RetiredAlertCount

    settings.STREAMWARDEN_ALERTS_RETENTION_DAYS = 30
    monkeypatch.setattr(retention, "CHUNK", 2)
    for n in range(5):
        record_event_alert(kind="claimed", queue="q", group="g", event_id=f"{n}-0")
    record_event_alert(kind="dead_lettered", queue="q", event_id="9-0")
    Alert.objects.update(
        created_at=timezone.now() - timedelta(days=31), notify_state=NotifyState.SENT
    )

    assert prune()["alerts"] == 6
    assert not Alert.objects.exists()
    assert sorted(RetiredAlertCount.objects.values_list("kind", "queue", "group", "count")) == [
        ("claimed", "q", "g", 5),
        ("dead_lettered", "q", "", 1),
    ]
