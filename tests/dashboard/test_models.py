"""Queue definitions and thresholds: validation with clear errors, merging over defaults."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from dashboard.catalog.models import QueueDefinition, Threshold

pytestmark = pytest.mark.django_db


def test_a_global_default_threshold_row_exists_after_migrations():
    default = Threshold.objects.get(queue__isnull=True)
    assert default.lag_warn is not None and default.lag_alert is not None
    assert default.lag_warn < default.lag_alert


def test_warn_above_alert_is_rejected_for_a_higher_is_worse_metric():
    threshold = Threshold(
        queue=QueueDefinition.objects.create(name="orders"), lag_warn=500, lag_alert=100
    )
    with pytest.raises(ValidationError) as excinfo:
        threshold.full_clean()
    assert "lag_warn" in excinfo.value.message_dict
    assert "must be below alert" in excinfo.value.message_dict["lag_warn"][0]


def test_active_consumers_warn_must_be_above_alert_because_fewer_is_worse():
    queue = QueueDefinition.objects.create(name="orders")
    bad = Threshold(queue=queue, active_consumers_warn=0, active_consumers_alert=2)
    with pytest.raises(ValidationError) as excinfo:
        bad.full_clean()
    assert "must be above alert" in excinfo.value.message_dict["active_consumers_warn"][0]
    Threshold(queue=queue, active_consumers_warn=2, active_consumers_alert=0).full_clean()


def test_negative_levels_and_a_second_global_default_are_rejected():
    with pytest.raises(ValidationError) as excinfo:
        Threshold(queue=None, pending_alert=-1).full_clean()
    errors = excinfo.value.message_dict
    assert "pending_alert" in errors
    assert "queue" in errors  # the migration already created the global default


def test_a_queue_override_replaces_the_default_metric_by_metric():
    queue = QueueDefinition.objects.create(name="orders")
    Threshold.objects.create(queue=queue, lag_warn=5, lag_alert=50)
    effective = Threshold.effective_for(queue)
    default = Threshold.objects.get(queue__isnull=True)
    assert (effective.levels["lag"].warn, effective.levels["lag"].alert) == (5, 50)
    assert effective.levels["pending"].alert == default.pending_alert  # inherited
    assert effective.status_of("lag", 4) == "ok"
    assert effective.status_of("lag", 5) == "warn"
    assert effective.status_of("lag", 50) == "alert"
    assert effective.status_of("active_consumers", 0) == "alert"
    assert effective.status_of("active_consumers", 3) == "ok"


def test_groups_must_be_a_list_of_names():
    with pytest.raises(ValidationError) as excinfo:
        QueueDefinition(name="x", groups={"a": 1}).full_clean()
    assert "groups" in excinfo.value.message_dict


def test_definition_defaults_to_its_name_and_the_dashboard_redis(settings):
    queue = QueueDefinition.objects.create(name="orders")
    assert queue.queue_name == "orders"
    assert queue.effective_redis_url() == settings.REDIS_URL
    assert queue.watches("any-group")


def test_effective_thresholds_classify_through_the_library_in_the_dashboard_units():
    # Oldest pending is kept in seconds here and in milliseconds in the library: one
    # evaluator (queues.health.classify) serves both, the direction coming from the library.
    effective = Threshold.effective_for(QueueDefinition.objects.create(name="orders"))
    default = Threshold.objects.get(queue__isnull=True)
    assert (default.oldest_pending_warn, default.oldest_pending_alert) == (60, 300)
    assert effective.status_of("oldest_pending", 59.9) == "ok"
    assert effective.status_of("oldest_pending", 60) == "warn"
    assert effective.status_of("oldest_pending", 300) == "alert"
    assert effective.status_of("dead_letters", 0) == "ok"
    assert effective.status_of("dead_letters", default.dead_letters_warn) == "warn"
    assert effective.status_of("lag", None) == "ok"
