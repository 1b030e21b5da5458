"""After the poll a cycle costs in proportion to what changed (issues 13 and 20): a queue
that did not change is neither re-classified, re-stored, re-alerted nor re-pushed; a queue
that changes is stored, alerted and pushed within the cycle; history keeps a point when a
queue changes or at least every keepalive, so charts keep their points."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import Alert, AlertState
from dashboard import selectors
from dashboard.catalog.models import QueueDefinition, Threshold
from dashboard.consumers import LIVE_GROUP
from dashboard.models import MetricSnapshot, QueueState
from dashboard.monitor import engine
from dashboard.monitor.engine import Monitor
from dashboard.monitor.library import reset_managers
from dashboard.monitor.scheduler import build_scheduler
from tests.support.queue_data import ack_all, create_group, publish, read

pytestmark = pytest.mark.django_db(transaction=True)

QUEUES = 6


@pytest.fixture(autouse=True)
def _fresh(settings, monkeypatch) -> Iterator[None]:
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 10
    settings.STREAMWARDEN_HISTORY_KEEPALIVE = 3600
    # no "refresh of the ages" cycle in these few cycles: what is written is what changed
    monkeypatch.setattr(engine, "REFRESH_SLOTS", 10**9)
    reset_managers()
    yield
    reset_managers()


def _received(layer: Any, channel: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    async def drain() -> None:
        while True:
            try:
                out.append(await asyncio.wait_for(layer.receive(channel), 0.3))
            except TimeoutError:
                return

    async_to_sync(drain)()
    return out


def _listen(layer: Any) -> str:
    """A new browser on the live group (each is drained once: a channel's buffer belongs
    to the event loop that first read it)."""
    channel: str = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(LIVE_GROUP, channel)
    return channel


def _pushed(messages: list[dict[str, Any]]) -> set[str]:
    return {q["name"] for m in messages if m["type"] == "queue.update" for q in m["data"]["queues"]}


def _writes(queries: CaptureQueriesContext, table: str) -> int:
    # An executemany is logged as "N times: INSERT …".
    return sum(
        1
        for q in queries.captured_queries
        if q["sql"]
        .split(" times: ", 1)[-1]
        .lstrip()
        .upper()
        .startswith(("INSERT", "UPDATE", "DELETE"))
        and table in q["sql"]
    )


def test_an_unchanged_queue_costs_no_write_and_no_push_and_a_change_is_shown_at_once(
    redis_url: str, queue_name: str
) -> None:
    names = []
    for i in range(QUEUES):
        queue = f"{queue_name}-{i}"
        if i == 0:
            create_group(redis_url, queue, "g", start="$")  # caught up: lag 0, ok
        else:
            publish(redis_url, queue, [{"n": 1}, {"n": 2}, {"n": 3}])
            create_group(redis_url, queue, "g")  # lag 3, no consumer: alert
        definition = QueueDefinition.objects.create(name=f"q{i}", queue=queue)
        Threshold.objects.create(
            queue=definition,
            lag_warn=1,
            lag_alert=2,
            # q0 is healthy without consumers (the default alerts at 0 active ones)
            active_consumers_warn=-1 if i == 0 else None,
            active_consumers_alert=-1 if i == 0 else None,
        )
        names.append(f"q{i}")
    layer = get_channel_layer()
    monitor = Monitor()
    try:
        for _ in range(4):  # the windows fill: three samples make them steady
            monitor.cycle()
        assert not Alert.objects.filter(queue="q0").exists()
        assert Alert.objects.filter(state=AlertState.OPEN, queue="q1").count() == 3
        channel = _listen(layer)
        stored = dict(QueueState.objects.values_list("queue", "at"))
        rows = MetricSnapshot.objects.count()

        for _ in range(3):
            before = monitor.latest["q1"].at_ms
            with CaptureQueriesContext(connection) as queries:
                monitor.cycle()
            assert monitor.unchanged == set(names)  # not classified again
            assert monitor.latest["q1"].at_ms > before  # ... but of this poll
            assert _writes(queries, "queuestate") == 0
            assert _writes(queries, "metricsnapshot") == 0
            assert _writes(queries, "alerts_alert") == 0
        assert _pushed(_received(layer, channel)) == set()
        channel = _listen(layer)
        assert dict(QueueState.objects.values_list("queue", "at")) == stored
        assert MetricSnapshot.objects.count() == rows

        publish(redis_url, f"{queue_name}-0", [{"n": 1}])  # q0: lag 1, warn
        publish(redis_url, f"{queue_name}-3", [{"n": 4}])  # q3: lag 4, still alert
        monitor.cycle()
        assert monitor.unchanged == set(names) - {"q0", "q3"}
        assert _pushed(_received(layer, channel)) == {"q0", "q3"}
        state = dict(QueueState.objects.values_list("queue", "data"))
        assert state["q0"]["status"] == "warn" and state["q0"]["lag"] == 1
        assert state["q3"]["lag"] == 4
        warned = Alert.objects.get(queue="q0", group="", kind="threshold", state="open")
        assert warned.severity == "warn"
        # a change is a history point at the queue's next snapshot tick, at the latest
        wait_for_rows = time.monotonic() + 15
        while MetricSnapshot.objects.filter(queue="q0").count() < 2:
            assert time.monotonic() < wait_for_rows, "q0's change never reached its history"
            time.sleep(0.2)
            monitor.cycle()
    finally:
        monitor.shutdown()


def test_history_of_a_still_queue_has_a_point_every_keepalive_and_one_per_change(
    settings, redis_url: str, queue_name: str
) -> None:
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0.2
    settings.STREAMWARDEN_HISTORY_KEEPALIVE = 0.6
    settings.STREAMWARDEN_STATE_FIGURES_EVERY = 0  # the sparkline takes each point at once
    publish(redis_url, queue_name, [{"n": 1}])
    create_group(redis_url, queue_name, "g")
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    monitor = Monitor()
    try:
        cycles, started = 0, time.monotonic()
        while time.monotonic() - started < 2.0:
            monitor.cycle()
            cycles += 1
            time.sleep(0.05)
        still = MetricSnapshot.objects.filter(queue="orders").count()
        # one point on the first cycle, then one per keepalive: not one per cycle
        assert 2 <= still <= 1 + 2.0 / 0.6 + 1 < cycles
        publish(redis_url, queue_name, [{"n": 2}])
        deadline = time.monotonic() + 0.2 + 0.5
        while MetricSnapshot.objects.filter(queue="orders", lag=2).count() == 0:
            assert time.monotonic() < deadline, "the change got no point within its interval"
            monitor.cycle()
            time.sleep(0.05)
        points = selectors.queue_history(name="orders", range_key="5m")["points"]
        assert len(points) >= 3 and points[-1]["lag"] == 2 and points[0]["lag"] == 1
        assert QueueState.objects.get(queue="orders").sparkline[-1] == 2
    finally:
        monitor.shutdown()


def _gaps_between_cycles(cycle_s: float, interval: float, cycles: int) -> list[float]:
    """Seconds from the end of each cycle to the start of the next, for ``cycles`` cycles of
    ``cycle_s`` each run by the monitor's scheduler at ``interval``."""
    spans: list[tuple[float, float]] = []

    class Timed:
        def cycle(self) -> None:
            started = time.monotonic()
            time.sleep(cycle_s)
            spans.append((started, time.monotonic()))

    scheduler = build_scheduler(Timed(), interval=interval)  # type: ignore[arg-type]
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(spans) < cycles:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=False)
    return [b[0] - a[1] for a, b in zip(spans, spans[1:], strict=False)]


def test_a_cycle_longer_than_the_interval_is_followed_by_the_next_at_once() -> None:
    """Not at the next tick of the interval's grid (a 0.6 s cycle at 0.5 s would complete
    every second)."""
    gaps = sorted(_gaps_between_cycles(0.6, 0.5, 5))
    assert gaps[len(gaps) // 2] < 0.2  # the grid would wait 0.4 s


def test_a_cycle_just_under_the_interval_is_followed_by_the_next_at_its_time() -> None:
    """APScheduler's interval grid raced a cycle ending a hair before its next tick (the
    tick found the job still running and skipped to the one after): a 0.499 s cycle at
    0.5 s completed every second now and then. The loop keeps its own clock."""
    assert max(_gaps_between_cycles(0.499, 0.5, 12)) < 0.2  # skipping a tick waits 0.5 s


def test_the_loop_stops_at_shutdown() -> None:
    """shutdown(wait=True) waits for the job's thread: it returns only if the loop ends."""
    cycles: list[float] = []

    class Quick:
        def cycle(self) -> None:
            cycles.append(time.monotonic())

    scheduler = build_scheduler(Quick(), interval=0.1)  # type: ignore[arg-type]
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while len(cycles) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    stopping = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True)
    stopping.start()
    stopping.join(5)
    assert not stopping.is_alive()
    thread.join(5)
    assert not thread.is_alive()


def test_an_age_moves_a_status_only_in_the_cycle_it_crosses_a_level(
    redis_url: str, queue_name: str
) -> None:
    """The oldest pending entry ages at every poll. A queue whose age stays under its
    levels, or over the same one, keeps its classification; the cycle its age crosses a
    level classifies it again (its status moves at once), and it is kept after that. Before,
    a queue over a level was classified, stored and pushed again at every cycle: in an
    incident, all of them."""
    from tests.support.queue_data import read

    for name, warn in (("young", 3600.0), ("crossing", 2.0), ("old", 0.001)):
        queue = f"{queue_name}-{name}"
        publish(redis_url, queue, [{"n": 1}])
        create_group(redis_url, queue, "g")
        read(redis_url, queue, "g", "c1", 1)  # one pending entry: its age grows
        definition = QueueDefinition.objects.create(name=name, queue=queue)
        Threshold.objects.create(
            queue=definition, oldest_pending_warn=warn, oldest_pending_alert=warn * 1000
        )
    monitor = Monitor()
    try:
        for _ in range(4):
            monitor.cycle()
        assert monitor.latest["old"].status == "warn"
        assert "oldest pending" in monitor.latest["old"].groups[0].reason
        assert {"young", "old"} <= monitor.unchanged
        deadline = time.monotonic() + 20
        while monitor.latest["crossing"].status != "warn":
            assert "crossing" in monitor.unchanged or monitor.cycles <= 4
            assert time.monotonic() < deadline, "the age never moved the status"
            time.sleep(0.2)
            monitor.cycle()
        assert "crossing" not in monitor.unchanged  # classified in the cycle it crossed
        assert "oldest pending" in monitor.latest["crossing"].groups[0].reason
        monitor.cycle()
        assert {"young", "crossing", "old"} <= monitor.unchanged
        assert monitor.latest["crossing"].status == "warn"
    finally:
        monitor.shutdown()


def _consumed_queue(redis_url: str, queue: str, name: str) -> None:
    """A queue with lag and an active consumer holding one pending entry (a group whose
    trend a window decides, unlike a caught-up or consumer-less one)."""
    from tests.support.queue_data import read

    publish(redis_url, queue, [{"n": 1}, {"n": 2}, {"n": 3}])
    create_group(redis_url, queue, "g")
    read(redis_url, queue, "g", "c1", 1)
    QueueDefinition.objects.create(name=name, queue=queue)


def test_a_queue_that_moved_is_not_classified_again_while_only_its_rates_decay(
    redis_url: str, queue_name: str, monkeypatch
) -> None:
    """Its in-rate decays every second for a minute after a message; before, that kept it
    (and every queue with any traffic in the last minute) classified, stored and pushed
    again at every cycle. Now its rates wait for its refresh slot, its verdicts do not."""
    queue = f"{queue_name}-moving"
    _consumed_queue(redis_url, queue, "moving")
    layer = get_channel_layer()
    monitor = Monitor()
    try:
        for _ in range(4):
            monitor.cycle()
        publish(redis_url, queue, [{"n": 4}])
        monitor.cycle()
        assert "moving" not in monitor.unchanged  # it moved: classified in full
        rate = monitor.latest["moving"].rate_in
        assert rate is not None and rate > 0
        channel = _listen(layer)
        for _ in range(3):
            monitor.cycle()
            assert "moving" in monitor.unchanged
            assert monitor.latest["moving"].rate_in == rate  # kept until its refresh slot
        assert _pushed(_received(layer, channel)) == set()

        # At its refresh slot (here: every cycle) it is classified again: its rate decayed.
        monkeypatch.setattr(engine, "REFRESH_SLOTS", 1)
        channel = _listen(layer)
        monitor.cycle()
        assert "moving" not in monitor.unchanged
        assert 0 < (monitor.latest["moving"].rate_in or 0) < rate
        assert _pushed(_received(layer, channel)) == {"moving"}
    finally:
        monitor.shutdown()


def test_a_stall_that_time_alone_makes_is_seen_by_a_queue_that_did_not_move(
    settings, redis_url: str, queue_name: str
) -> None:
    """Lag, an active consumer, nothing read: OK until the samples span half the trend
    window, then STALL, though the poll read the same every time."""
    settings.STREAMWARDEN_TREND_WINDOW = 4  # STALL after 2 s of the same reading
    queue = f"{queue_name}-stuck"
    _consumed_queue(redis_url, queue, "stuck")
    monitor = Monitor()
    try:
        monitor.cycle()
        assert monitor.latest["stuck"].groups[0].trend == "OK"
        deadline = time.monotonic() + 20
        while monitor.latest["stuck"].groups[0].trend != "STALL":
            assert time.monotonic() < deadline, "the stall was never seen"
            time.sleep(0.2)
            monitor.cycle()
        assert "stuck" not in monitor.unchanged  # seen in the cycle it appeared
        assert monitor.latest["stuck"].trend == "STALL"
        assert Alert.objects.filter(queue="stuck", kind="trend", state=AlertState.OPEN).exists()
        monitor.cycle()
        assert "stuck" in monitor.unchanged  # and then kept
    finally:
        monitor.shutdown()


def test_a_history_point_of_a_still_queue_writes_only_its_sparkline(
    settings, redis_url: str, queue_name: str
) -> None:
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0.2
    settings.STREAMWARDEN_HISTORY_KEEPALIVE = 0.4
    settings.STREAMWARDEN_STATE_FIGURES_EVERY = 0  # every cycle is its turn
    publish(redis_url, queue_name, [{"n": 1}])
    create_group(redis_url, queue_name, "g")
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    monitor = Monitor()
    try:
        for _ in range(4):  # the windows fill: three samples make the queue still
            monitor.cycle()
            time.sleep(0.05)
        assert "orders" in monitor.unchanged
        stored = QueueState.objects.get(queue="orders")
        points = MetricSnapshot.objects.filter(queue="orders").count()
        with CaptureQueriesContext(connection) as queries:
            deadline = time.monotonic() + 10
            while MetricSnapshot.objects.filter(queue="orders").count() < points + 2:
                assert time.monotonic() < deadline, "no keepalive point"
                monitor.cycle()
                time.sleep(0.05)
        assert monitor.unchanged == {"orders"}
        after = QueueState.objects.get(queue="orders")
        assert len(after.sparkline) == len(stored.sparkline) + 2  # one per history point
        assert (after.at, after.data) == (stored.at, stored.data)  # not rewritten
        # (an executemany is logged as "N times: UPDATE …")
        state_writes = [
            q["sql"]
            for q in queries.captured_queries
            if "queuestate" in q["sql"] and ("INSERT" in q["sql"] or "UPDATE" in q["sql"])
        ]
        assert state_writes and all("data" not in sql for sql in state_writes)
    finally:
        monitor.shutdown()


def test_figures_alone_are_stored_once_per_tick_and_a_status_change_at_once(
    redis_url: str, queue_name: str, settings: Any
) -> None:
    """Issue #20: a queue with traffic changes its figures at every poll; rewriting its
    stored row (3 KB of JSON) every poll was a quarter of a cycle with 10 000 such queues.
    Figures alone wait for the queue's tick of STREAMWARDEN_STATE_FIGURES_EVERY; what an
    operator acts on (here: a status) is stored at once; pushes carry every change."""
    settings.STREAMWARDEN_STATE_FIGURES_EVERY = 10**9  # no tick boundary during the test
    create_group(redis_url, queue_name, "g", start="$")
    publish(redis_url, queue_name, [{"n": 0}])
    assert read(redis_url, queue_name, "g", "c", 1) == 1  # an active consumer: trend OK
    definition = QueueDefinition.objects.create(name="busy", queue=queue_name)
    Threshold.objects.create(
        queue=definition,
        lag_warn=50,
        lag_alert=1000,
        active_consumers_warn=-1,
        active_consumers_alert=-1,
    )
    layer = get_channel_layer()
    monitor = Monitor()
    try:
        for _ in range(4):
            monitor.cycle()
        channel = _listen(layer)
        stored = QueueState.objects.get(queue="busy")
        assert (stored.data["lag"], stored.data["status"]) == (0, "ok")

        publish(redis_url, queue_name, [{"n": 1}])  # lag 1: still ok, a figure moved
        monitor.cycle()
        pushed = [
            q for m in _received(layer, channel) if m["type"] == "queue.update"
            for q in m["data"]["queues"]
        ]  # fmt: skip
        assert [q["lag"] for q in pushed if q["name"] == "busy"] == [1]  # live: at once
        assert QueueState.objects.get(queue="busy").data == stored.data  # stored: waits

        # With a tick of one second, figures that wait are stored at the next tick.
        settings.STREAMWARDEN_STATE_FIGURES_EVERY = 1
        _cycle_until_stored(monitor, lag=1)  # (the new grid: another tick at once)
        publish(redis_url, queue_name, [{"n": 2}])  # lag 2: still ok, the same headline
        _cycle_until_stored(monitor, lag=2)  # in this tick or the next one

        settings.STREAMWARDEN_STATE_FIGURES_EVERY = 10**9
        publish(redis_url, queue_name, [{"n": 3}])  # lag 3, ok
        monitor.cycle()  # the old grid again: another tick, stored
        assert QueueState.objects.get(queue="busy").data["lag"] == 3
        publish(redis_url, queue_name, [{"n": 4}])  # lag 4, ok
        monitor.cycle()
        assert QueueState.objects.get(queue="busy").data["lag"] == 3  # waits
        publish(redis_url, queue_name, [{"n": i} for i in range(60)])  # lag 64: warn
        monitor.cycle()
        data = QueueState.objects.get(queue="busy").data
        assert (data["status"], data["lag"]) == ("warn", 64)  # stored at once
    finally:
        monitor.shutdown()


def _cycle_until_stored(monitor: Monitor, *, lag: int) -> None:
    deadline = time.monotonic() + 10
    while QueueState.objects.get(queue="busy").data["lag"] != lag:
        assert time.monotonic() < deadline, f"lag {lag} never stored"
        time.sleep(0.1)
        monitor.cycle()


def test_a_refresh_rewrites_a_row_only_for_an_age_it_shows_as_a_problem(
    redis_url: str, queue_name: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #20: at its refresh slot a still queue was rewritten for its ages alone, ~900
    rows of 3 KB per cycle at 10 000 healthy queues whose only moving age was an active
    consumer's idle time. A healthy queue's row now stays; a queue with a pending entry
    has its oldest-pending age rewritten at every refresh."""
    monkeypatch.setattr(engine, "REFRESH_SLOTS", 1)  # every cycle is every queue's refresh
    settings.STREAMWARDEN_STATE_FIGURES_EVERY = 10**9  # no figures tick during the test
    healthy, waiting = f"{queue_name}-ok", f"{queue_name}-pending"
    for queue in (healthy, waiting):
        create_group(redis_url, queue, "g", start="$")
        publish(redis_url, queue, [{"n": 1}])
        assert read(redis_url, queue, "g", "c", 1) == 1  # an active consumer
        QueueDefinition.objects.create(name=queue, queue=queue)
    ack_all(redis_url, healthy, "g")  # nothing pending there
    monitor = Monitor()
    try:
        for _ in range(4):
            monitor.cycle()
        stored = dict(QueueState.objects.values_list("queue", "at"))
        age = QueueState.objects.get(queue=waiting).data["groups"][0]["oldest_pending_ms"]
        deadline = time.monotonic() + 10
        while QueueState.objects.get(queue=waiting).at == stored[waiting]:
            assert time.monotonic() < deadline, "the pending entry's age was never rewritten"
            time.sleep(0.1)
            monitor.cycle()
        data = QueueState.objects.get(queue=waiting).data
        assert data["groups"][0]["oldest_pending_ms"] > age
        assert QueueState.objects.get(queue=healthy).at == stored[healthy]  # not rewritten
        assert monitor.latest[healthy].groups[0].consumer_list[0].active
    finally:
        monitor.shutdown()


def test_figures_alone_wait_for_the_queues_turn_in_cycles_however_long_the_cycles(
    redis_url: str, queue_name: str, settings: Any
) -> None:
    """Issue #20: figures alone were stored once per STREAMWARDEN_STATE_FIGURES_EVERY on a
    grid of seconds, so cycles longer than half of it (5 s with 10 000 busy queues) crossed
    most queues' ticks and rewrote nearly every row each cycle, which made them longer
    still. Turns are now counted in cycles (here every 10): each busy queue is stored about
    once in ten cycles, however long they take; so is its sparkline."""
    settings.STREAMWARDEN_STATE_FIGURES_EVERY = 0.2
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0.2  # a history (sparkline) point each cycle
    queues = [f"{queue_name}-{i}" for i in range(20)]
    for queue in queues:
        create_group(redis_url, queue, "g", start="$")
        publish(redis_url, queue, [{"n": 0}])
        assert read(redis_url, queue, "g", "c", 1) == 1  # an active consumer: trend OK
        definition = QueueDefinition.objects.create(name=queue, queue=queue)
        Threshold.objects.create(
            queue=definition, lag_warn=10**6, lag_alert=10**7, pending_warn=10**6,
            pending_alert=10**7, active_consumers_warn=-1, active_consumers_alert=-1,
        )  # fmt: skip
    monitor = Monitor()
    monitor.interval = 0.02  # 0.2 s / 0.02 s: a turn every 10 cycles
    try:
        for _ in range(4):
            monitor.cycle()
        written = dict.fromkeys(queues, 0)
        for _ in range(10):
            before = {q: (at, line) for q, at, line in QueueState.objects.values_list(
                "queue", "at", "sparkline"
            )}  # fmt: skip
            for queue in queues:
                publish(redis_url, queue, [{"n": 1}])  # the lag grows by one: a figure
            time.sleep(0.25)  # each cycle outlasts the 0.2 s the figures may wait
            monitor.cycle()
            for queue, at, line in QueueState.objects.values_list("queue", "at", "sparkline"):
                written[queue] += (at, line) != before[queue]  # the row or its sparkline
        assert {s.status for s in monitor.latest.values()} == {"ok"}  # figures alone moved
        # Each queue's turn came once (twice for a turn at both ends) in the ten cycles.
        assert set(written.values()) <= {1, 2}, written
    finally:
        monitor.shutdown()


@pytest.mark.parametrize("interval", [0, -1])
def test_a_poll_interval_of_zero_or_less_makes_every_cycle_a_figures_turn(
    redis_url: str, queue_name: str, settings: Any, interval: float
) -> None:
    """STREAMWARDEN_POLL_INTERVAL=0 polls back to back: the figures' turns (the setting ÷ the
    interval) must not divide by it; every cycle is a turn."""
    settings.STREAMWARDEN_POLL_INTERVAL = interval
    create_group(redis_url, queue_name, "g", start="$")
    publish(redis_url, queue_name, [{"n": 0}])
    QueueDefinition.objects.create(name="busy", queue=queue_name)
    monitor = Monitor()
    try:
        monitor.cycle()
        assert QueueState.objects.get(queue="busy").data["lag"] == 1
        publish(redis_url, queue_name, [{"n": 1}])  # a figure alone
        monitor.cycle()
        assert QueueState.objects.get(queue="busy").data["lag"] == 2  # stored at once
    finally:
        monitor.shutdown()
