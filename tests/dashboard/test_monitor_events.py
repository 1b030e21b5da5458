"""Change-driven ingestion of library events (issue 20): the monitor reads the events of a
queue only when its events stream moved since it was last read to the end, never misses
one, and picks up what a crashed monitor or another dashboard consumer left pending."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.db import DatabaseError

from alerts.ingest import GROUP, events_key
from alerts.models import Alert, AlertKind
from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.engine import Monitor
from dashboard.monitor.library import reset_managers
from dashboard.monitor.poller import ChangeWatch, Target, poll
from queues import Manager
from tests.support.queue_data import create_group, publish
from tests.support.redis_process import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)

QUEUES = 5


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # After the start-up (which looks at every queue), no look for another consumer's
    # pending events unless a test asks for it: what is read is what moved.
    monkeypatch.setattr("alerts.ingest.TAKEOVER_EVERY", 3600.0)
    reset_managers()
    yield
    reset_managers()


def _queues(redis_url: str, prefix: str) -> list[str]:
    names = []
    for i in range(QUEUES):
        queue = f"{prefix}-{i}"
        publish(redis_url, queue, [{"n": 1}, {"n": 2}])
        create_group(redis_url, queue, "g")
        QueueDefinition.objects.create(name=f"q{i}", queue=queue)
        names.append(queue)
    return names


def _event_rows() -> Any:
    return Alert.objects.filter(kind__in=[AlertKind.CLAIMED, AlertKind.DEAD_LETTERED])


def _calls(client: redis.Redis, command: str) -> int:
    """Times the server ran ``command`` (INFO commandstats; a script's own calls count too)."""
    stats = client.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


def _event(client: redis.Redis, queue: str, kind: str, message_id: str) -> None:
    client.xadd(events_key(queue), {"type": kind, "queue": queue, "group": "g", "id": message_id})


class Commands:
    """The commands a redis-server runs while the block runs (its MONITOR feed)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: list[str] = []
        self._marker = f"end-of-watch-{uuid.uuid4().hex}"
        self._ready = threading.Event()

    def __enter__(self) -> Commands:
        self._client = redis.Redis.from_url(self.url)
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()
        assert self._ready.wait(5)
        return self

    def _listen(self) -> None:
        with self._client.monitor() as feed:
            self._ready.set()
            for item in feed.listen():
                command = str(item["command"])
                if self._marker in command:
                    return
                self.seen.append(command)

    def __exit__(self, *exc: Any) -> None:
        redis.Redis.from_url(self.url).echo(self._marker)
        self._thread.join(10)
        assert not self._thread.is_alive()
        self._client.close()

    def named(self, command: str) -> list[str]:
        return [c for c in self.seen if c.upper().startswith(command.upper())]


def test_an_event_on_a_queue_that_did_not_change_is_ingested_by_the_next_cycle_and_a_queue_without_events_costs_no_read(  # noqa: E501
    redis_url: str, queue_name: str
) -> None:
    names = _queues(redis_url, queue_name)
    client = redis.Redis.from_url(redis_url)
    monitor = Monitor()
    try:
        monitor.cycle()  # start-up: every queue's events are read (and their group made)
        monitor.cycle()
        reads, claims = _calls(client, "xreadgroup"), _calls(client, "xautoclaim")
        looks, checks = _calls(client, "xrevrange"), _calls(client, "evalsha")
        monitor.cycle()
        # Nothing moved: no XREADGROUP, no XAUTOCLAIM; one look per events stream, inside
        # the poll's check.
        assert _calls(client, "xreadgroup") == reads
        assert _calls(client, "xautoclaim") == claims
        assert _calls(client, "xrevrange") == looks + QUEUES
        assert _calls(client, "evalsha") == checks + 1  # the check: one script call

        _event(client, names[2], "claimed", "1-0")
        _event(client, names[2], "dead_lettered", "2-0")
        with Commands(redis_url) as commands:
            monitor.cycle()
        assert "q2" in monitor.still  # the queue itself did not change
        rows = _event_rows().filter(queue="q2")
        assert sorted(rows.values_list("kind", "message_id")) == [
            (AlertKind.CLAIMED, "1-0"),
            (AlertKind.DEAD_LETTERED, "2-0"),
        ]
        read = commands.named("XREADGROUP")
        assert read and all(events_key(names[2]) in c for c in read)
        assert not any(events_key(n) in c for c in read for n in names if n != names[2])
        assert client.xpending(events_key(names[2]), GROUP)["pending"] == 0

        # Read to the end: the next cycle reads nothing again.
        reads = _calls(client, "xreadgroup")
        monitor.cycle()
        assert _calls(client, "xreadgroup") == reads
    finally:
        monitor.shutdown()


def test_an_ingestion_that_failed_is_tried_again_next_cycle(
    redis_url: str, queue_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = _queues(redis_url, queue_name)
    client = redis.Redis.from_url(redis_url)
    monitor = Monitor()
    try:
        monitor.cycle()
        _event(client, names[1], "claimed", "7-0")

        def refused(**_: Any) -> int:
            raise DatabaseError("the database is away")

        with monkeypatch.context() as patch:
            patch.setattr("alerts.ingest.record_event_alerts", refused)
            monitor.cycle()
        assert not _event_rows().exists()
        # read, not stored: it stays pending in Redis, and no new event will come
        assert client.xpending(events_key(names[1]), GROUP)["pending"] == 1

        monitor.cycle()
        assert list(_event_rows().values_list("queue", "message_id")) == [("q1", "7-0")]
        assert client.xpending(events_key(names[1]), GROUP)["pending"] == 0
    finally:
        monitor.shutdown()


def test_a_monitor_restarted_under_its_name_stores_what_its_predecessor_left_pending(
    redis_url: str, queue_name: str
) -> None:
    names = _queues(redis_url, queue_name)
    client = redis.Redis.from_url(redis_url)
    name = f"m-{queue_name}"
    for n in range(3):
        _event(client, names[0], "claimed", f"{n + 1}-0")
    manager = Manager(redis_url)
    try:  # the predecessor read them and was killed before storing them
        assert len(manager.read_events([names[0]], GROUP, f"monitor-{name}", count=100)) == 3
    finally:
        manager.close()

    monitor = Monitor(name=name)
    try:
        monitor.cycle()
    finally:
        monitor.shutdown()
    assert Alert.objects.filter(queue="q0", kind=AlertKind.CLAIMED).count() == 3
    assert client.xpending(events_key(names[0]), GROUP)["pending"] == 0


def test_events_another_consumer_left_pending_are_taken_over_though_nothing_moved(
    redis_url: str, queue_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("alerts.ingest.TAKEOVER_IDLE_MS", 0)
    names = _queues(redis_url, queue_name)
    client = redis.Redis.from_url(redis_url)
    monitor = Monitor()
    try:
        monitor.cycle()
        _event(client, names[3], "claimed", "9-0")
        manager = Manager(redis_url)
        try:  # another dashboard consumer read it and went away
            assert len(manager.read_events([names[3]], GROUP, "monitor-gone", count=10)) == 1
        finally:
            manager.close()
        monitor.cycle()  # its events moved, but the new one is another consumer's
        assert not _event_rows().exists()

        monkeypatch.setattr("alerts.ingest.TAKEOVER_EVERY", 0.5)
        claims = _calls(client, "xautoclaim")
        deadline = time.monotonic() + 10
        while not _event_rows().exists() and time.monotonic() < deadline:
            monitor.cycle()  # nothing moves any more: only the takeover can find it
        assert list(_event_rows().values_list("queue", "message_id")) == [("q3", "9-0")]
        assert _calls(client, "xautoclaim") > claims
        assert client.xpending(events_key(names[3]), GROUP)["pending"] == 0
    finally:
        monitor.shutdown()


def _due_after_an_event(poll_url: str, client: redis.Redis, queue: str) -> list[str]:
    """Library queues a and b (and a plain stream) polled twice through ``poll_url``, both
    ingested after the first poll and an event written to ``queue`` between the two: the
    queues due for ingestion after the second."""
    manager = Manager(poll_url)
    targets = [
        Target("a", "a", poll_url),
        Target("b", "b", poll_url),
        Target("plain", "plain", poll_url, stream="plain-stream"),
    ]
    watch = ChangeWatch()
    try:
        poll(targets, manager_for=lambda _: manager, watch=watch)
        assert watch.events.due(poll_url, ["a", "b"]) == ["a", "b"]  # never read
        watch.events.done(poll_url, ["a", "b"])
        _event(client, queue, "claimed", f"{uuid.uuid4().int % 1000}-0")
        poll(targets, manager_for=lambda _: manager, watch=watch)
        return watch.events.due(poll_url, ["a", "b"])
    finally:
        manager.close()


def test_where_the_check_cannot_tell_every_queue_is_due(private_redis: RedisServer) -> None:
    """With the check, only the queue whose events moved is due; through an ACL user
    without EVALSHA (the poll reads in full, the check cannot tell) every library queue is
    due at every poll."""
    url = private_redis.url
    client = private_redis.client()
    for name in ("a", "b"):
        publish(url, name, [{"n": 1}])
    client.xadd("plain-stream", {"n": "1"})
    assert _due_after_an_event(url, client, "a") == ["a"]
    client.acl_setuser(
        "noscripts", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-evalsha"]
    )
    limited = url.replace("redis://", "redis://noscripts:pw@")
    assert _due_after_an_event(limited, client, "a") == ["a", "b"]
