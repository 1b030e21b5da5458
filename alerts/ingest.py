"""Ingestion of library events (claimed, dead_lettered, group_recreated, events_dropped) into
alert rows.

The events are read THROUGH the library's consumer group reader (``Manager.read_events``,
group "streamwarden-dashboard") on each queue's events stream, so an event stays pending in
Redis until its row is committed: a monitor that dies mid-ingestion leaves the rest pending,
and the next ingester (same consumer name at once, another one after ``TAKEOVER_IDLE_MS``)
picks them up. Rows are unique on (queue, event id), so an event delivered twice never makes
a second row. Acks (``Manager.ack_events``) happen only after the database commit.

The Manager is built by the library from the queue's Redis URL, so ``redis://``,
``redis+sentinel://`` and ``redis+cluster://`` all work (on a cluster the library reads the
streams per hash slot).

The monitor calls it every cycle for every library queue but reads only the queues whose
events moved (``moved``: its change check looks at each events stream's last entry id,
``dashboard.monitor.event_marks``); the takeover of another consumer's pending events looks
at every queue once per ``TAKEOVER_EVERY`` seconds, spread over the calls in between.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from django.db import DatabaseError, transaction

from alerts import conf
from alerts.live import MAX_LIVE_ALERTS
from alerts.models import AlertKind
from alerts.services import EventAlert, record_event_alerts
from dashboard.monitor.library import manager_for
from dashboard.monitor.names import clean_json, clean_name, clean_text
from queues import Manager
from queues import events as library_events
from queues.connection import socket_timeout
from queues.keys import queue_keys
from queues.types import Event

logger = logging.getLogger(__name__)

GROUP = "streamwarden-dashboard"
#: Events per read and stream; a storm is ingested in bounded chunks.
BATCH = 500
#: Upper bound per call and queue so one call never stalls the monitor for long.
MAX_PER_CALL = 20_000
#: New rows of one batch pushed to live pages, per queue of the batch (the newest ones, in
#: one message of at most ``alerts.live.MAX_LIVE_ALERTS``).
LIVE_PER_BATCH = 20
#: Pending events of another (dead) dashboard consumer are taken over after this idle time.
TAKEOVER_IDLE_MS = 30_000
#: Seconds in which every queue is looked at once for those (one XAUTOCLAIM per events
#: stream: at 10 000 queues 0.3–0.5 s, so the queues are spread over TAKEOVER_SLICES).
TAKEOVER_EVERY = 10.0
#: The queues of one Redis are looked at for a takeover in this many slices (by name), the
#: slices spread over the calls of each TAKEOVER_EVERY seconds.
TAKEOVER_SLICES = 10


class TakeoverRounds:
    """Which queues a call looks at for another consumer's pending events: all of them at
    the first call of a (Redis, consumer) pair (start-up: a predecessor may have died
    holding some), then each queue once per ``TAKEOVER_EVERY`` seconds, slice by slice in
    proportion to the time elapsed (one call every second covers a tenth; one call every
    ten seconds or more covers all). Thread-safety: one call at a time per pair."""

    def __init__(self) -> None:
        self._rounds: dict[tuple[str, str], tuple[float, int]] = {}  # -> (started, slices)

    def due(self, redis_url: str, consumer_name: str, queues: Sequence[str]) -> list[str]:
        now = time.monotonic()
        key = (redis_url, consumer_name)
        if key not in self._rounds:
            self._rounds[key] = (now, TAKEOVER_SLICES)
            return list(queues)
        started, covered = self._rounds[key]
        if covered >= TAKEOVER_SLICES:
            if now - started < TAKEOVER_EVERY:
                return []
            started, covered = now, 0
        share = (now - started) / TAKEOVER_EVERY if TAKEOVER_EVERY > 0 else 1.0
        upto = min(TAKEOVER_SLICES, int(share * TAKEOVER_SLICES) + 1)
        self._rounds[key] = (started, upto)
        if covered == 0 and upto >= TAKEOVER_SLICES:
            return list(queues)
        return [q for q in queues if covered <= _slice(q) < upto]


def _slice(queue: str) -> int:
    return zlib.crc32(queue.encode("utf-8", "surrogatepass")) % TAKEOVER_SLICES


_takeover = TakeoverRounds()


EVENT_KINDS = {
    library_events.CLAIMED: AlertKind.CLAIMED,
    library_events.DEAD_LETTERED: AlertKind.DEAD_LETTERED,
    library_events.GROUP_RECREATED: AlertKind.GROUP_RECREATED,
    # claims and dead letters the dashboard will never see: say so rather than stay silent
    library_events.EVENTS_DROPPED: AlertKind.EVENTS_DROPPED,
}


def events_key(queue: str) -> str:
    """The library's per-queue events stream (one hash tag per queue)."""
    return queue_keys(queue).events


def _event_alert(kind: str, queue: str, event: Event) -> EventAlert:
    """The row of one event, its foreign values cleaned to fit the columns: any client can
    write an events stream (names over 200 characters, NUL, non-UTF-8 field names)."""
    return EventAlert(
        kind=kind,
        queue=queue,
        event_id=clean_text(event.id, limit=64),
        group=clean_name(event.group or ""),
        message_id=clean_name(event.message_id or "", limit=64),
        details=clean_json(dict(event.fields), limit=conf.max_detail_chars()),
    )


def _placeholder(alert: EventAlert, error: Exception) -> EventAlert:
    """What is kept of an event whose row the database refused: its identity and why."""
    return EventAlert(
        kind=alert.kind,
        queue=alert.queue,
        event_id=alert.event_id,
        details={"unreadable": clean_text(f"{type(error).__name__}: {error}", limit=500)},
    )


def _store_queue(alerts: list[EventAlert]) -> int:
    """The rows of one queue's events in a savepoint; when the database refuses the batch,
    one by one, and an event refused again is kept as a placeholder row, so that one poison
    event neither blocks its queue nor the others (it is acknowledged like the rest)."""
    try:
        with transaction.atomic():
            return record_event_alerts(events=alerts, publish_newest=LIVE_PER_BATCH)
    except DatabaseError:
        logger.warning(
            "alert rows of %s refused as a batch; storing them one by one", alerts[0].queue
        )
    created = 0
    for alert in alerts:
        try:
            with transaction.atomic():
                created += record_event_alerts(events=[alert], publish_newest=LIVE_PER_BATCH)
            continue
        except DatabaseError as exc:
            logger.warning("event %s of %s refused: %s", alert.event_id, alert.queue, exc)
            placeholder = _placeholder(alert, exc)
        with transaction.atomic():
            created += record_event_alerts(events=[placeholder], publish_newest=LIVE_PER_BATCH)
    return created


def _store(events: Iterable[Event]) -> int:
    """Create the rows of one batch; returns the rows created.

    All queues' rows in one transaction and one bulk insert (a storm of claims on 1 000
    queues: a few queries, one live push); when the database refuses it, queue by queue
    (``_store_queue``). Events that are not alerts (retried, replayed, ...) are skipped;
    ``event.queue`` is the library queue, mapped to its QueueDefinition's display name.
    """
    wanted = [(EVENT_KINDS.get(event.type), event) for event in events]
    names = _display_names({event.queue for kind, event in wanted if kind is not None})
    by_queue: dict[str, list[EventAlert]] = {}
    for kind, event in wanted:
        if kind is None:
            continue  # other library events are not alerts
        by_queue.setdefault(event.queue, []).append(_event_alert(kind, names[event.queue], event))
    if not by_queue:
        return 0
    live = min(MAX_LIVE_ALERTS, LIVE_PER_BATCH * len(by_queue))
    everything = [alert for alerts in by_queue.values() for alert in alerts]
    try:
        with transaction.atomic():
            return record_event_alerts(events=everything, publish_newest=live)
    except DatabaseError:
        logger.warning(
            "alert rows of %d queues refused as one batch; storing them queue by queue",
            len(by_queue),
        )
    created = 0
    with transaction.atomic():
        for alerts in by_queue.values():
            created += _store_queue(alerts)
    return created


def _display_names(queues: set[str]) -> dict[str, str]:
    """The display name of each library queue (as ``display_queue_name``), in one query."""
    if not queues:
        return {}
    from dashboard.catalog.models import QueueDefinition

    found: dict[str, str] = {}
    try:
        rows = QueueDefinition.objects.filter(queue__in=queues).values_list("queue", "name")
        for queue, name in rows:
            found.setdefault(queue, name)
    except DatabaseError:  # no table yet (migrations): the library names
        found = {}
    return {queue: clean_name(found.get(queue, queue)) for queue in queues}


def _ingest(found: list[Event], manager: Manager) -> int:
    if not found:
        return 0
    created = _store(found)
    # Only after the commit: an ingester killed before this line leaves them pending.
    manager.ack_events(GROUP, found)
    return created


@dataclass(frozen=True)
class Ingested:
    """What one call did: alert rows created, and the queues whose events it read to the
    end (each up to ``MAX_PER_CALL``: a queue cut there is not among them)."""

    created: int
    drained: frozenset[str]


def ingest_events(
    *, redis_url: str, queues: list[str], consumer_name: str, block_ms: int = 0
) -> int:
    """Turn new claimed / dead_lettered events of ``queues`` into alert rows; rows created.

    Reads, in this order, this consumer's own pending events (it died before acking), those
    of another dashboard consumer idle longer than ``TAKEOVER_IDLE_MS`` (each queue looked
    at once per ``TAKEOVER_EVERY`` seconds, see ``TakeoverRounds``), then new events;
    at most ``MAX_PER_CALL`` events per queue per call.
    Blocking: only when nothing was found and ``block_ms`` > 0, for at most ``block_ms``.
    Thread-safety: one call at a time per ``consumer_name``. Idempotent on (queue, event id).
    Raises ``queues.QueueUnavailable`` (a ``ConnectionError``) when the Redis is down (the
    monitor reports it); a group lost with the data (NOGROUP) is recreated by the library.
    """
    created = ingest_moved(redis_url=redis_url, queues=queues, consumer_name=consumer_name).created
    if created == 0 and block_ms > 0 and queues:
        mgr = manager_for(redis_url)
        created = _wait_for_events(mgr, queues, consumer_name, block_ms)
    return created


def ingest_moved(
    *,
    redis_url: str,
    queues: Sequence[str],
    consumer_name: str,
    moved: Collection[str] | None = None,
) -> Ingested:
    """``ingest_events`` (without blocking) of the queues of ``queues`` in ``moved`` (None:
    all of them), the queues whose events may have moved since their last ingestion, plus
    those due for a look at another consumer's pending events (``TakeoverRounds``). A queue
    neither moved nor due costs no command. Raises what ``ingest_events`` raises (then no
    queue counts as read to the end)."""
    mgr = manager_for(redis_url)  # the dashboard's one cache of clients
    asked = None if moved is None else set(moved)
    wanted = [q for q in queues if asked is None or q in asked]
    takeover = _takeover.due(redis_url, consumer_name, queues)
    taken = set(takeover)
    created = 0
    cut: set[str] = set()
    for batch, claim_idle_ms in (
        (takeover, TAKEOVER_IDLE_MS),
        ([q for q in wanted if q not in taken], None),
    ):
        done, left = _drain(mgr, batch, consumer_name, claim_idle_ms)
        created += done
        cut |= left
    read = taken.union(wanted)
    return Ingested(created, frozenset(read - cut))


def _drain(
    mgr: Manager, queues: Sequence[str], consumer_name: str, claim_idle_ms: int | None
) -> tuple[int, set[str]]:
    """Read and store the events of ``queues`` until none is left or a queue has had
    ``MAX_PER_CALL``; the rows created and the queues cut there."""
    handled = dict.fromkeys(queues, 0)
    active: list[str] = list(handled)
    created = 0
    while active:
        found = mgr.read_events(
            active, GROUP, consumer_name, count=BATCH, claim_idle_ms=claim_idle_ms
        )
        if not found:
            break
        created += _ingest(found, mgr)
        for event in found:
            handled[event.queue] = handled.get(event.queue, 0) + 1
        active = [q for q in active if handled[q] < MAX_PER_CALL]
    return created, {q for q, n in handled.items() if n >= MAX_PER_CALL}


def _wait_for_events(mgr: Manager, queues: Sequence[str], consumer_name: str, block_ms: int) -> int:
    """Block up to ``block_ms`` for events; ingest the first batch that arrives."""
    # A blocking read must return before the client's socket read gives up on it.
    read_timeout = socket_timeout(mgr.client)
    step = block_ms if read_timeout is None else max(10, int(read_timeout * 1000) - 500)
    deadline = time.monotonic() + block_ms / 1000
    while True:
        remaining = int((deadline - time.monotonic()) * 1000)
        if remaining <= 0:
            return 0
        found = mgr.read_events(
            queues,
            GROUP,
            consumer_name,
            count=BATCH,
            block_ms=min(remaining, step),
            claim_idle_ms=TAKEOVER_IDLE_MS,
        )
        if found:
            return _ingest(found, mgr)
