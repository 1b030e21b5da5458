"""What the monitor makes of each classified snapshot: its JSON (websocket, API, stored state)
and its signature (whether it changed enough to be pushed and stored again)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from dashboard.monitor.engine import _signature
from dashboard.monitor.storms import Bounce
from dashboard.monitor.trimrisk import TrimRisk
from dashboard.monitor.types import ConsumerSnapshot, GroupSnapshot, QueueSnapshot, evolve


def _group(name: str = "billing", **changes: Any) -> GroupSnapshot:
    base = GroupSnapshot(
        name=name,
        consumers=1,
        active_consumers=1,
        pending=2,
        lag=3,
        entries_read=5,
        last_delivered_id="1-0",
        oldest_pending_ms=1000,
        oldest_undelivered_ms=500,
        consumer_list=(ConsumerSnapshot("worker", 2, 10, True),),
        drain_seconds=4.0,
    )
    return dataclasses.replace(base, **changes)


def _queue(*groups: GroupSnapshot, **changes: Any) -> QueueSnapshot:
    return QueueSnapshot(
        "orders",
        "orders",
        "redis://:secret@localhost/0",
        at_ms=1,
        length=5,
        groups=groups,
        checks={"lag": "ok"},
        **changes,
    )


def _risk() -> TrimRisk:
    return TrimRisk(10, 20, 10, 3, 1, False, 14, "alert", "3 entries lost", ())


def _expected_totals(s: QueueSnapshot) -> dict[str, Any]:
    """The totals as the page defines them, written plainly."""
    g = s.groups
    lags = [x.lag for x in g if x.lag is not None]
    drains = [x.drain_seconds for x in g]
    breaches = [x.breach_seconds for x in g if x.breach_seconds is not None]
    parked = [x.parked for x in g if x.parked is not None]
    rates = [x.claim_rate for x in g if x.claim_rate is not None]
    pending_ages = [x.oldest_pending_ms for x in g if x.oldest_pending_ms is not None]
    undelivered_ages = [x.oldest_undelivered_ms for x in g if x.oldest_undelivered_ms is not None]
    return {
        "lag": max(lags) if lags else (None if g else 0),
        "pending": sum(x.pending for x in g),
        "consumers": sum(x.consumers for x in g),
        "active_consumers": sum(x.active_consumers for x in g),
        "oldest_pending_ms": max(pending_ages) if pending_ages else None,
        "oldest_undelivered_ms": max(undelivered_ages) if undelivered_ages else None,
        "drain_seconds": (
            None if not g or None in drains else max(d or 0.0 for d in drains)  # type: ignore[misc]
        ),
        "breach_seconds": min(breaches) if breaches else None,
        "parked": sum(parked) if parked else (None if s.plain else 0),
        "forecast_unstable": any(x.forecast_unstable for x in g),
        "storm": any(x.storm for x in g),
        "claim_rate": round(sum(rates), 2) if rates else None,
    }


QUEUES = [
    _queue(),
    _queue(plain=True),
    _queue(_group()),
    _queue(_group(lag=None), _group("b", lag=None, oldest_pending_ms=None)),
    _queue(_group(lag=7, drain_seconds=None), _group("b", lag=9, breach_seconds=3.0)),
    _queue(
        _group(lag=0, drain_seconds=0.0, breach_seconds=8.0, claim_rate=1.25, parked=4),
        _group("b", drain_seconds=2.5, breach_seconds=2.0, claim_rate=0.5, storm=True),
        _group("c", parked=None, forecast_unstable=True, oldest_undelivered_ms=None),
        plain=True,
    ),
]


@pytest.mark.parametrize("snapshot", QUEUES)
def test_a_queue_json_has_every_field_but_its_redis_url_and_its_totals_over_its_groups(
    snapshot: QueueSnapshot,
) -> None:
    data = snapshot.as_json()

    fields = {f.name for f in dataclasses.fields(QueueSnapshot)} - {"redis_url"}
    assert set(data) == fields | set(_expected_totals(snapshot))
    assert "secret" not in json.dumps(data)
    assert {k: data[k] for k in _expected_totals(snapshot)} == _expected_totals(snapshot)
    for name, value in _expected_totals(snapshot).items():
        assert getattr(snapshot, name) == value, name
    for group, shown in zip(snapshot.groups, data["groups"], strict=True):
        assert set(shown) == {f.name for f in dataclasses.fields(GroupSnapshot)}
        assert shown["consumer_list"] == [dataclasses.asdict(c) for c in group.consumer_list]


def test_the_json_is_a_copy_the_snapshot_does_not_share() -> None:
    snapshot = _queue(_group())
    data = snapshot.as_json()
    data["checks"]["lag"] = "alert"
    data["groups"][0]["consumer_list"][0]["pending"] = 99
    assert snapshot.checks == {"lag": "ok"} and snapshot.groups[0].consumer_list[0].pending == 2
    assert snapshot.as_json() != data


def test_a_copy_with_other_groups_has_its_own_totals() -> None:
    snapshot = _queue(_group(lag=3))
    assert snapshot.lag == 3
    moved = evolve(snapshot, groups=(_group(lag=50),))
    assert (moved.lag, moved.as_json()["lag"]) == (50, 50)
    assert dataclasses.replace(snapshot, groups=()).lag == 0
    assert snapshot.lag == 3
    assert snapshot == _queue(_group(lag=3))  # the totals kept are not a field


def test_equal_values_give_equal_signatures_however_the_strings_were_made() -> None:
    made = "".join(["bill", "ing"])  # a string built at run time, not interned
    one = _queue(_group(), _group("b"))
    two = _queue(_group(made), _group("b"))
    assert one.groups[0].name is not two.groups[0].name
    assert _signature(one) == _signature(two)


def test_ages_and_idle_times_leave_the_signature_unchanged() -> None:
    before = _queue(_group())
    after = evolve(
        before,
        at_ms=99,
        groups=(
            _group(
                oldest_pending_ms=9000,
                oldest_undelivered_ms=8000,
                trend_slope=0.5,
                consumer_list=(ConsumerSnapshot("worker", 2, 9999, True),),
            ),
        ),
    )
    assert _signature(before) == _signature(after)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "warn"},
        {"reason": "lag 3 ≥ 2"},
        {"checks": {"lag": "warn"}},
        {"length": 6},
        {"trim_risk": _risk()},
        {"levels": (2,)},
        {"groups": (_group(pending=3),)},
        {"groups": (_group(status="alert"),)},
        {"groups": (_group(consumer_list=(ConsumerSnapshot("worker", 3, 10, True),)),)},
        {"groups": (_group(consumer_list=(ConsumerSnapshot("worker", 2, 10, False),)),)},
        {"groups": (_group(consumer_list=()),)},
        {"groups": (_group(bouncing=(Bounce("1-0", 2, ("a", "b"), 3),)),)},
        {"groups": (_group(), _group("b"))},
    ],
)
def test_a_change_the_page_shows_changes_the_signature(change: dict[str, Any]) -> None:
    before = _queue(_group())
    assert _signature(dataclasses.replace(before, **change)) != _signature(before)


def test_signatures_tell_dataclass_values_apart() -> None:
    bounce = (Bounce("1-0", 2, ("a", "b"), 3),)
    risk = _risk()
    one = _queue(_group(bouncing=bounce), trim_risk=risk)
    assert _signature(one) == _signature(_queue(_group(bouncing=bounce), trim_risk=risk))
    other = _queue(_group(bouncing=(Bounce("1-0", 2, ("a", "c"), 3),)), trim_risk=risk)
    assert _signature(one) != _signature(other)
