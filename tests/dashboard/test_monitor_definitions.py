"""The monitor reads queue definitions and thresholds as plain values: what it polls and
how it judges are those of ``QueueDefinition`` and ``Threshold.effective_for``; unchanged
levels keep their object (a queue's last classification stands under them); a bulk
``update()``, which leaves ``updated_at`` as it was, is applied within DEFINITIONS_MAX_AGE."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from alerts.models import Alert, AlertState
from dashboard.catalog.models import QueueDefinition, Threshold
from dashboard.monitor import engine
from dashboard.monitor.engine import Monitor
from dashboard.monitor.library import reset_managers
from tests.support.queue_data import create_group, publish

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh(settings) -> Iterator[None]:
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    reset_managers()
    yield
    reset_managers()


def _definitions(redis_url: str) -> dict[str, QueueDefinition]:
    made = {
        "plain-default": QueueDefinition.objects.create(name="plain-default"),
        "renamed": QueueDefinition.objects.create(name="renamed", queue="library-name"),
        "stream": QueueDefinition.objects.create(name="stream", stream="orders:events"),
        "elsewhere": QueueDefinition.objects.create(
            name="elsewhere", redis_url=redis_url, groups=["billing"], maxlen=500
        ),
        "partial": QueueDefinition.objects.create(name="partial"),
        "full": QueueDefinition.objects.create(name="full"),
        "same-as-full": QueueDefinition.objects.create(name="same-as-full"),
    }
    QueueDefinition.objects.create(name="off", enabled=False)
    # the global default (a transactional test may start without the migration's row)
    Threshold.objects.update_or_create(
        queue=None,
        defaults={"lag_warn": 100, "lag_alert": 1000, "pending_warn": 10, "pending_alert": 20},
    )
    # only lag overridden: the other metrics come from the global default
    Threshold.objects.create(queue=made["partial"], lag_warn=5, lag_alert=50)
    for name in ("full", "same-as-full"):
        Threshold.objects.create(
            queue=made[name],
            active_consumers_warn=2,
            active_consumers_alert=1,
            lag_warn=1,
            lag_alert=2,
            pending_warn=3,
            pending_alert=4,
            oldest_pending_warn=5,
            oldest_pending_alert=6,
            dead_letters_warn=7,
            dead_letters_alert=8,
        )
    return made


def test_targets_thresholds_and_maxlens_are_those_of_the_catalog(settings, redis_url: str) -> None:
    made = _definitions(redis_url)
    monitor = Monitor()
    monitor._load_definitions()

    assert [t.name for t in monitor.targets] == sorted(made)  # "off" is not polled
    for target in monitor.targets:
        definition = made[target.name]
        assert target.queue == definition.queue_name
        assert target.redis_url == definition.effective_redis_url()
        assert target.groups == tuple(definition.groups)
        assert target.stream == definition.stream
        assert monitor.maxlens[target.name] == definition.maxlen
        assert monitor.thresholds[target.name] == Threshold.effective_for(definition)
    assert monitor.thresholds["partial"].levels["lag"].warn == 5
    assert monitor.thresholds["partial"].levels["pending"].alert == 20  # the default's


def test_unchanged_levels_keep_their_object_and_changed_ones_get_a_new_one(
    redis_url: str, monkeypatch
) -> None:
    _definitions(redis_url)
    monitor = Monitor()
    monitor._load_definitions()
    first = dict(monitor.thresholds)
    assert first["full"] is first["same-as-full"]  # equal rows: one object

    monkeypatch.setattr(engine, "DEFINITIONS_MAX_AGE", 0.0)  # every cycle reads the rows
    monitor._load_definitions()
    assert all(monitor.thresholds[name] is first[name] for name in first)

    Threshold.objects.filter(queue__name="full").update(lag_warn=10, lag_alert=20)
    monitor._load_definitions()
    assert monitor.thresholds["full"] is not first["full"]
    assert monitor.thresholds["full"].levels["lag"].alert == 20
    assert all(monitor.thresholds[name] is first[name] for name in first if name != "full")

    # The global default changed: every queue that inherits from it is judged anew...
    Threshold.objects.filter(queue=None).update(pending_warn=123)
    monitor._load_definitions()
    assert monitor.thresholds["plain-default"].levels["pending"].warn == 123
    # ... but a queue whose levels are all its own is equal, and keeps its object.
    assert monitor.thresholds["same-as-full"] is first["same-as-full"]


def test_a_bulk_update_is_applied_once_the_definitions_are_max_age_old(
    redis_url: str, queue_name: str, monkeypatch
) -> None:
    publish(redis_url, queue_name, [{"n": 1}, {"n": 2}, {"n": 3}])
    create_group(redis_url, queue_name, "g")  # lag 3
    definition = QueueDefinition.objects.create(name="orders", queue=queue_name)
    Threshold.objects.create(
        queue=definition,
        lag_warn=100,
        lag_alert=200,
        active_consumers_warn=-1,  # no consumers is fine here
        active_consumers_alert=-1,
    )
    monitor = Monitor()
    try:
        monitor.cycle()
        assert monitor.latest["orders"].status == "ok"

        # update() writes neither updated_at nor a row count: the quick check sees nothing
        Threshold.objects.filter(queue=definition).update(lag_warn=1, lag_alert=2)
        monitor.cycle()
        assert monitor.latest["orders"].status == "ok"  # still trusted (DEFINITIONS_MAX_AGE)

        monkeypatch.setattr(engine, "DEFINITIONS_MAX_AGE", 0.0)
        monitor.cycle()
        assert monitor.latest["orders"].status == "alert"
        alert = Alert.objects.get(queue="orders", group="", kind="threshold")
        assert alert.state == AlertState.OPEN

        QueueDefinition.objects.filter(pk=definition.pk).update(enabled=False)
        monitor.cycle()
        assert monitor.targets == [] and "orders" not in monitor.latest
    finally:
        monitor.shutdown()
