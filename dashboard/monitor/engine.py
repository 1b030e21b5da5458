"""One monitor cycle: lease, poll, classify, store, alert, publish. Survives outages."""

from __future__ import annotations

import dataclasses
import functools
import gc
import hashlib
import logging
import marshal
import operator
import resource
import time
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction
from django.db.models import Count, Max

from dashboard import conf
from dashboard.monitor import enrich, signals, trend, writes
from dashboard.monitor.counting import commands_so_far
from dashboard.monitor.inferred import PendingWatch
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import manager_for
from dashboard.monitor.phases import PHASES, PhaseTimer
from dashboard.monitor.poller import ChangeWatch, Target, poll, unreadable
from dashboard.monitor.storms import Claim, ClaimStats, StormDetector
from dashboard.monitor.types import GroupSnapshot, PollCost, QueueSnapshot, evolve
from queues.redact import redact_url

log = logging.getLogger(__name__)

#: A queue whose only change is its ages (they grow at every poll) or its consumers' idle
#: times is re-sent and re-stored once every this many cycles, in a cycle chosen by its
#: name, so 10 000 still queues are not rewritten at every poll and never all in one.
REFRESH_SLOTS = 10
# The snapshot rollup runs for one slice of the queues per cycle (see ``_retention``): 60
# slices, one a cycle, so at 1 s polls and the default minute between rollups each cycle
# rolls up 1/60 of the queues, never a tenth of them in a row of ten cycles.
RETENTION_SLOTS = 60
PRUNE_LIMIT = 5000  # old rows deleted per resolution per cycle, at most

# The trend's evidence and the forecasts' spread drift at every poll like an age.
_GROUP_AGES = {
    "oldest_pending_ms",
    "oldest_undelivered_ms",
    "consumer_list",
    "trend_slope",
    "trend_window_s",
    "forecast_spread",
}
_QUEUE_SIG = [
    f.name for f in dataclasses.fields(QueueSnapshot) if f.name not in {"at_ms", "groups"}
]
_GROUP_SIG = [f.name for f in dataclasses.fields(GroupSnapshot) if f.name not in _GROUP_AGES]


_SIG_QUEUE = operator.attrgetter(*_QUEUE_SIG)
_SIG_GROUP = operator.attrgetter(*_GROUP_SIG)
_SIG_CONSUMER = operator.attrgetter("name", "pending", "active")


def _signature(snapshot: QueueSnapshot) -> bytes:
    """Everything shown of a queue but its ages and idle times, as a 16-byte digest: cheap
    to compare and to keep (the JSON of 10 000 queues is rendered only for those that
    changed). A digest, not the tuple of values: 10 000 nested tuples kept per cycle were
    most of its cost, in the garbage collections they caused."""
    values = (
        _SIG_QUEUE(snapshot),
        [(_SIG_GROUP(g), [_SIG_CONSUMER(c) for c in g.consumer_list]) for g in snapshot.groups],
    )
    try:
        # Version 2: the same values always give the same bytes (no references, no
        # interned-string marks, which depend on how each string was made).
        packed = marshal.dumps(values, 2)
    except ValueError:  # a trim risk or bounces: dataclasses, which marshal cannot pack
        packed = marshal.dumps(_plain(values), 2)
    return hashlib.blake2b(packed, digest_size=16).digest()


_HEAD_QUEUE = operator.attrgetter(
    "exists", "error", "unreadable", "groups_omitted", "status", "reason", "trend",
    "dead_letters", "levels", "unwatched_groups",
)  # fmt: skip
_HEAD_GROUP = operator.attrgetter(
    "name", "consumers", "active_consumers", "consumers_omitted", "unreadable", "status",
    "reason", "trend", "storm", "claims",
)  # fmt: skip


def _headline(snapshot: QueueSnapshot) -> bytes:
    """What an operator acts on of a queue (its status, reasons, trend, consumers, dead
    letters, claims, whether a breach is forecast), as a digest: a change in it is stored at
    once, a change in figures alone (length, rates, entries read, the forecast's seconds)
    waits for the queue's turn (``_store_state``)."""
    risk = snapshot.trim_risk.level if snapshot.trim_risk is not None else None
    values = (
        _HEAD_QUEUE(snapshot),
        sorted(snapshot.checks.items()),
        risk,
        [(_HEAD_GROUP(g), g.breach_seconds is None) for g in snapshot.groups],
    )
    return hashlib.blake2b(marshal.dumps(values, 2), digest_size=16).digest()


def _plain(value: Any) -> Any:
    """``value`` with every dataclass in it turned into its class name and field values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, dataclasses.astuple(value))
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


# What the monitor fills in after the poll (dashboard.monitor.enrich), and the ages.
_ENRICHED_GROUP = {
    "status",
    "reason",
    "trend",
    "trend_slope",
    "trend_window_s",
    "rate_out",
    "drain_seconds",
    "breach_seconds",
    "forecast_spread",
    "forecast_unstable",
    "claims",
    "claim_rate",
    "storm",
    "bouncing",
}
_ENRICHED_QUEUE = {"status", "reason", "trend", "checks", "rate_in", "rate_out", "trim_risk"}
_POLLED_AGES = {"oldest_pending_ms", "oldest_undelivered_ms", "consumer_list"}
_RAW_GROUP = operator.attrgetter(
    *[
        f.name
        for f in dataclasses.fields(GroupSnapshot)
        if f.name not in _ENRICHED_GROUP | _POLLED_AGES
    ]
)
_RAW_QUEUE = operator.attrgetter(
    *[
        f.name
        for f in dataclasses.fields(QueueSnapshot)
        if f.name not in _ENRICHED_QUEUE | {"at_ms", "groups"}
    ]
)


#: What history keeps of each group (MetricSnapshot.groups).
_HISTORY_GROUP = ("lag", "pending", "consumers", "active_consumers", "rate_out", "status", "trend")
_history_group = operator.attrgetter(*_HISTORY_GROUP)


def _raw_key(snapshot: QueueSnapshot) -> tuple[Any, ...]:
    """What the poll read of a queue but its ages and idle times: equal keys in two polls
    mean nothing happened to it in between."""
    return (
        _RAW_QUEUE(snapshot),
        tuple(
            (
                _RAW_GROUP(g),
                g.oldest_pending_ms is None,
                tuple((c.name, c.pending, c.active) for c in g.consumer_list),
            )
            for g in snapshot.groups
        ),
    )


class Kept:
    """A queue's last enrichment: what the poll read (``key``), under which thresholds and
    MAXLEN, what it became, and its signature."""

    __slots__ = ("key", "thresholds", "maxlen", "snapshot", "signature", "trackers", "raw_groups")

    def __init__(
        self, key: tuple[Any, ...], thresholds: Any, maxlen: int | None, snapshot: QueueSnapshot
    ) -> None:
        self.key = key
        self.thresholds = thresholds
        self.maxlen = maxlen
        self.snapshot = snapshot
        self.signature: bytes | None = None
        # Its groups' trend trackers, in order (None: an unreadable group), once looked up.
        self.trackers: tuple[trend.GroupTrend | None, ...] | None = None
        # The polled groups it was last made from: the very same tuple in the next poll
        # means not even an age moved (poller.aged keeps it).
        self.raw_groups: tuple[GroupSnapshot, ...] = ()


class Stored:
    """What the QueueState row of a queue holds: the signature and sparkline it was written
    with, its headline, the figures turn (``_store_state``) it was written in and the ages
    it shows (``_shown_ages``)."""

    __slots__ = ("signature", "spark_version", "headline", "tick", "ages", "spark_tick")

    def __init__(
        self, signature: bytes, spark_version: int, headline: bytes, tick: int, ages: Any
    ) -> None:
        self.signature = signature
        self.spark_version = spark_version
        self.headline = headline
        self.tick = tick
        self.ages = ages
        self.spark_tick = tick  # the turn its sparkline was last written in


def _shown_ages(snapshot: QueueSnapshot) -> Any:
    """The ages a queue's row shows as a problem: each group's oldest pending and oldest
    undelivered entry, and its inactive consumers' idle times (an active consumer's idle
    time is under the active threshold: nothing to act on)."""
    return tuple(
        (
            g.oldest_pending_ms,
            g.oldest_undelivered_ms,
            tuple(c.idle_ms for c in g.consumer_list if not c.active),
        )
        for g in snapshot.groups
    )


class Rendered:
    """One snapshot of this cycle: its signature, and its JSON rendered at most once."""

    __slots__ = ("snapshot", "signature", "refresh", "_data")

    def __init__(
        self, snapshot: QueueSnapshot, refresh: bool, signature: bytes | None = None
    ) -> None:
        self.snapshot = snapshot
        self.signature = _signature(snapshot) if signature is None else signature
        self.refresh = refresh  # this cycle re-sends it even if only its ages changed
        self._data: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = self.snapshot.as_json()
        return self._data


#: A full garbage collection of the monitor's process runs when its peak memory grew by
#: this factor since the last one (see Monitor._freeze).
FULL_COLLECT_GROWTH = 1.25
#: Claimed-alert rows read per cycle at most (a bigger storm is read over several cycles).
MAX_CLAIMS_PER_CYCLE = 20_000
SPARK_POINTS = 30
#: Seconds the loaded definitions are trusted while their count and last change stay the
#: same (a bulk ``update()`` bypasses ``updated_at``; it is seen after this long).
DEFINITIONS_MAX_AGE = 30.0


def _now() -> datetime:
    return datetime.now(UTC)


class Monitor:
    """Holds the sliding windows between cycles; ``cycle()`` is the scheduler's job."""

    def __init__(self, *, lease: Lease | None = None, name: str = "") -> None:
        self.lease = lease or Lease(ttl=conf.lease_ttl())
        self.name = name or self.lease.token
        self.trends: dict[tuple[str, str], trend.GroupTrend] = {}
        self.groups_seen: dict[str, set[str]] = {}  # per queue, for alerts of deleted groups
        self.added: dict[str, deque[tuple[int, int | None]]] = {}
        self.targets: list[Target] = []
        self.definitions_version: Any = None  # (count, last change) of definitions, thresholds
        self.definitions_loaded_at = 0.0
        self.definitions_read: Any = None  # the rows they were last built from
        self.levels_made: dict[Any, Any] = {}  # (own, default) levels -> EffectiveThresholds
        self.thresholds: dict[str, Any] = {}
        self.maxlens: dict[str, int | None] = {}
        self.last_published: dict[str, Any] = {}  # queue -> signature last sent
        self.last_status: dict[tuple[str, str, str | None], str] = {}
        self.reachable: dict[str, bool] = {}
        self.redis_down_since: datetime | None = None
        self.redis_error = ""
        self.db_error = ""
        self.last_snapshot_at = 0.0
        # Monotonic time each slice of the queues was last rolled up (None: not yet).
        self.retention_at: list[float | None] = [None] * RETENTION_SLOTS
        self.retention_slot = 0
        self.last_cost = PollCost(0, 0.0, 0)
        self.cycles = 0
        self.polled_cycles = 0
        self.standby_of: str | None = None  # the lease holder, while this one stands by
        self.cycle_ms = 0.0  # the last full cycle, all phases
        self.phases: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.latest: dict[str, QueueSnapshot] = {}
        self.storms = StormDetector(window_s=conf.storm_window(), storm_claims=conf.storm_claims())
        self.claim_stats: dict[tuple[str, str], ClaimStats] = {}
        self.claims_cursor: int | None = None  # pk of the last claimed-alert row read
        self.open_storms: dict[tuple[str, str], int] = {}  # -> ClaimStorm pk
        self.storms_adopted = False
        self.stored_state: dict[str, Stored] = {}  # queue -> what its QueueState row holds
        self.headlines: dict[str, tuple[bytes, bytes]] = {}  # queue -> (signature, headline)
        self.spark: dict[str, deque[int]] = {}
        self.spark_version: dict[str, int] = {}  # queue -> points added to its sparkline
        # Change-driven cycle: what each queue became last time, and which were unchanged.
        self.kept: dict[str, Kept] = {}
        self.unchanged: set[str] = set()  # queues whose last enrichment stood this cycle
        self.claimed: set[str] = set()  # queues with claim stats, this cycle and the last
        self.alerts_clean: set[str] = set()  # queues whose statuses are all recorded
        self.history: dict[str, tuple[Any, int]] = {}  # queue -> (signature, at_ms) stored
        self.history_tick: dict[str, int] = {}  # queue -> snapshot-interval tick last seen
        self.crc: dict[str, int] = {}
        self.policy = conf.trend_policy()
        self.spark_seeded = False
        self.pending_watch = PendingWatch()  # claims inferred on plain streams
        self.watch = ChangeWatch(conf.poll_refresh())  # change-driven polling
        self.claimed_now: set[str] = set()
        self.freeze_gc = False  # scheduler.run sets it: the process is the monitor's own
        self.interval: float | None = None  # seconds between polls (build_scheduler sets it)
        self.peak_at_full = 0  # peak memory (KiB) at the last full collection
        self.still: frozenset[str] = frozenset()  # queues the poll's change check found still

    # --- the job -------------------------------------------------------------------------

    def cycle(self) -> None:
        """One scheduler tick. Never raises: every failure is logged and reported."""
        self.cycles += 1
        if self.freeze_gc:
            gc.disable()  # until the cycle is over: see _freeze
        close_old_connections()
        try:
            self._cycle()
        finally:
            # Scheduler worker threads outlive the job: leave no connection open behind.
            close_old_connections()
            if self.freeze_gc:
                self._freeze()

    def _freeze(self) -> None:
        """Keep the garbage collector out of the cycle. Only in the monitor's own process
        (``scheduler.run``).

        A cycle over 10 000 queues allocates millions of objects and keeps about a million
        (windows, snapshots): with the collector on, its full collections over them cost 2-4
        s of a 4-5 s cycle (measured, issue #20). So the collector is off during a cycle;
        after it, everything alive is frozen (out of every later collection) and the
        collector is on again between cycles.

        A cycle leaves nothing in reference cycles (its live pushes go from the process's
        own event loop: ``live.own_loop``; sent from a new loop each, they left ~250 objects
        a cycle), so nothing frozen waits for a collection. A full one (unfreeze, collect:
        3 s at 10 000 queues here) runs only when the process's peak memory grew by
        FULL_COLLECT_GROWTH since the last (after the first cycle, while the trend windows
        fill, or if something does leave cycles): run every ten minutes, it made one cycle
        period in ten minutes 4 s."""
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if peak > self.peak_at_full * FULL_COLLECT_GROWTH:
            gc.unfreeze()
            gc.collect()
            self.peak_at_full = peak
        gc.freeze()
        gc.enable()

    def _cycle(self) -> None:
        held_before = self.lease.held
        if not self.lease.acquire_or_renew():
            self._stand_by()
            return
        self.standby_of = None
        if not held_before:
            # Inferred claims compare polls within one unbroken lease only.
            self.pending_watch.reset()
        timer = PhaseTimer()
        with timer.phase("database"):
            self._load_definitions()
            # Before the poll: what classifies a queue (its claims) is known when the poll
            # hands over its first snapshots (``_classify_early``).
            self._db_step("claims", self._load_claims)
        self.claim_stats = self.storms.stats(int(time.time() * 1000))
        claimed = {queue for queue, _ in self.claim_stats}
        self.claimed, claimed_before = claimed, self.claimed
        self.claimed_now = claimed | claimed_before
        self.unchanged = set()
        self.policy = conf.trend_policy()
        self.polled_cycles += 1
        early: dict[str, tuple[QueueSnapshot, QueueSnapshot]] = {}
        with timer.phase("poll"):
            result = poll(
                self.targets,
                manager_for=manager_for,
                active_idle_ms=int(conf.active_idle() * 1000),
                caps=conf.caps(),
                watch=self.watch,
                on_read=lambda snapshot, still: self._classify_early(early, snapshot, still),
            )
        self.last_cost = result.cost
        self.still = result.still
        with timer.phase("alerts"):
            self._reachability(result.unreachable)
        self._infer_claims(result.snapshots, timer)
        with timer.phase("poll"):  # classification of what the poll did not hand over
            snapshots = [self._classified(s, early) for s in result.snapshots if not s.error]
            snapshots = [self.pending_watch.annotate(s) for s in snapshots]
        self.latest = {s.name: s for s in snapshots}
        with timer.phase("poll"):
            rendered = self._render(snapshots)
        if not self._still_holding(timer):
            return
        with timer.phase("pushes"):
            self._publish_queues(rendered)
        with timer.phase("database"):
            self._db_step("store snapshots", lambda: self._store(rendered))
            self._db_step("queue state", lambda: self._store_state(rendered))
        if not self._still_holding(timer):
            return
        with timer.phase("alerts"):
            self._db_step("claim storms", self._sync_storms)
            self._db_step("alerts", lambda: self._sync_alerts(snapshots))
            self._ingest_events(snapshots)
        with timer.phase("database"):
            self._db_step("retention", self._retention)
        self.phases = timer.rounded()
        self.cycle_ms = timer.total_ms()
        self._report()

    def _infer_claims(self, snapshots: Sequence[QueueSnapshot], timer: PhaseTimer) -> None:
        """Claims by foreign consumers of plain streams, inferred from their pending lists
        (dashboard.monitor.inferred); the sampling's commands count in the poll cost."""
        streams = {t.name: t.stream for t in self.targets if t.stream}
        if not streams and not self.pending_watch.unrecorded:
            return
        with timer.phase("poll"):
            started, before = time.perf_counter(), commands_so_far()
            self.pending_watch.sample = conf.pel_sample()
            self.pending_watch.refresh_every = conf.poll_refresh()
            found = self.pending_watch.poll(
                snapshots, streams, manager_for, int(time.time() * 1000), still=self.still
            )
            self.last_cost = dataclasses.replace(
                self.last_cost,
                commands=self.last_cost.commands + commands_so_far() - before,
                ms=self.last_cost.ms + (time.perf_counter() - started) * 1000,
            )
        if not signals.claims_inferred.has_listeners():
            return  # a dashboard without the alerts app: no claim rows to write

        def store(**kwargs: Any) -> None:
            # emit logs other failures; a DatabaseError keeps the claims for a retry
            signals.emit(signals.claims_inferred, "claims_inferred", **kwargs)

        with timer.phase("alerts"):
            self._db_step("inferred claims", lambda: self.pending_watch.record(found, store))

    def _still_holding(self, timer: PhaseTimer) -> bool:
        """Renew the lease between phases: a cycle longer than the lease (10 000 queues in
        an incident) must not let a standby take over and write alongside it."""
        with timer.phase("database"):
            if self.lease.acquire_or_renew():
                return True
        log.warning(
            "monitor %s: lost the lease mid-cycle; leaving the rest to the holder", self.name
        )
        return False

    def _stand_by(self) -> None:
        """A standby says who holds the lease and since when (logged when it changes)."""
        try:
            holder = self.lease.holder()
        except DatabaseError as exc:
            log.warning("monitor %s: standing by; cannot read the lease: %s", self.name, exc)
            close_old_connections()
            return
        if holder is not None and holder.name != self.standby_of:
            log.warning(
                "monitor %s: standing by: the lease is held by %s since %s (until %s unless "
                "renewed)",
                self.name,
                holder.name,
                holder.since.isoformat(),
                holder.expires_at.isoformat(),
            )
        self.standby_of = holder.name if holder else None

    def _reachability(self, unreachable: dict[str, str]) -> None:
        for target in self.targets:
            url = target.redis_url
            if url in unreachable:
                self._redis_down(url, unreachable[url])
            elif self.reachable.get(url) is not True:
                self.reachable[url] = True
                signals.emit(
                    signals.redis_reachability,
                    "redis_reachability",
                    redis_url=url,
                    reachable=True,
                    error="",
                )
        if not unreachable:
            self.redis_down_since = None
            self.redis_error = ""

    # --- steps ---------------------------------------------------------------------------

    def _db_step(self, what: str, step: Callable[[], Any]) -> None:
        try:
            step()
        except DatabaseError as exc:
            self.db_error = f"{type(exc).__name__}: {exc}"
            log.warning("monitor: database step %r failed: %s", what, exc)
            close_old_connections()

    def _load_definitions(self) -> None:
        from dashboard.catalog.models import LEVEL_COLUMNS, QueueDefinition, Threshold

        try:
            # Two small queries tell whether anything changed; the definitions are read
            # again only then, or when DEFINITIONS_MAX_AGE is up (a bulk ``update()``
            # leaves ``updated_at`` as it was).
            version = (
                QueueDefinition.objects.aggregate(n=Count("pk"), at=Max("updated_at")),
                Threshold.objects.aggregate(n=Count("pk"), at=Max("updated_at")),
            )
            fresh = time.monotonic() - self.definitions_loaded_at < DEFINITIONS_MAX_AGE
            if version == self.definitions_version and fresh:
                self.db_error = ""
                return
            # Plain values, not 20 000 model instances (0.4 s at 10 000 queues).
            read = (
                str(settings.REDIS_URL),
                list(
                    QueueDefinition.objects.filter(enabled=True).values_list(
                        "pk", "name", "queue", "stream", "redis_url", "groups", "maxlen"
                    )
                ),
                list(Threshold.objects.values_list("queue_id", *LEVEL_COLUMNS)),
            )
        except DatabaseError as exc:
            # Keep polling what we knew: an outage of the DB must not blind the monitor.
            self.db_error = f"{type(exc).__name__}: {exc}"
            log.warning("monitor: cannot load queue definitions (%s); using the last ones", exc)
            close_old_connections()
            return
        self.db_error = ""
        self.definitions_version = version
        self.definitions_loaded_at = time.monotonic()
        if read == self.definitions_read:
            return  # the periodic reading: the same rows, nothing to rebuild
        self.definitions_read = read
        self._apply_definitions(read[1], read[2])

    def _apply_definitions(self, definitions: list[Any], rows: list[Any]) -> None:
        """Targets, thresholds and MAXLENs of the definitions' and thresholds' rows (as
        ``QueueDefinition`` and ``Threshold.effective_for`` make them, without instances)."""
        from dashboard.catalog.models import library_name, merge_levels, redis_url_of

        self.targets = [
            Target(
                name, library_name(name, queue, stream), redis_url_of(url), tuple(groups), stream
            )
            for _, name, queue, stream, url, groups, _ in definitions
        ]
        default = next((tuple(row[1:]) for row in rows if row[0] is None), None)
        own = {row[0]: tuple(row[1:]) for row in rows if row[0] is not None}
        # The same levels keep the same object: a queue's last enrichment stands under
        # the thresholds it was made with (``_unchanged`` compares them by identity).
        # Queues with equal rows share one object, made once and kept across reloads.
        made_before: dict[Any, Any] = self.levels_made
        made: dict[Any, Any] = {}
        before = self.thresholds
        self.thresholds = {}
        for pk, name, *_ in definitions:
            key = (own.get(pk), default)
            found = made.get(key)
            if found is None:
                found = made_before.get(key) or merge_levels(*key)
                made[key] = found
            same = before.get(name)
            self.thresholds[name] = same if same is not None and same == found else found
        self.levels_made = made
        self.maxlens = {d[1]: d[6] for d in definitions}

    def _classify_early(
        self,
        early: dict[str, tuple[QueueSnapshot, QueueSnapshot]],
        snapshot: QueueSnapshot,
        still: bool,
    ) -> None:
        """The poll's ``on_read``: classify a queue while Redis checks the next batch."""
        early[snapshot.name] = (snapshot, self._enrich_isolated(snapshot, still))

    def _classified(
        self, snapshot: QueueSnapshot, early: dict[str, tuple[QueueSnapshot, QueueSnapshot]]
    ) -> QueueSnapshot:
        """``snapshot`` classified: during the poll (if the poll returned the snapshot it
        handed over), else now."""
        found = early.get(snapshot.name)
        if found is not None and found[0] is snapshot:
            return found[1]
        return self._enrich_isolated(snapshot, snapshot.name in self.still)

    def _enrich_isolated(self, snapshot: QueueSnapshot, still: bool = False) -> QueueSnapshot:
        """``_enrich`` of one queue; a queue it cannot classify is shown as unreadable and
        the others are classified as usual. A queue the poll read as it was last time
        (``still``) keeps its last enrichment (``_unchanged``), with its new ages."""
        name = snapshot.name
        if snapshot.unreadable:
            self.kept.pop(name, None)
            return snapshot
        kept = self.kept.get(name)
        if snapshot.plain:
            key = None
        elif kept is not None and still:
            key = kept.key  # the poll's change check found it still: the same reading
        else:
            key = _raw_key(snapshot)
        observed: dict[str, trend.Verdict] | None = None
        if key is not None:
            same, observed = self._unchanged(snapshot, key)
            if same is not None:
                return same
        try:
            enriched = self._enrich(snapshot, observed)
        except Exception as exc:  # noqa: BLE001 - one queue's data must not stop the cycle
            log.exception("monitor: cannot classify queue %s", snapshot.name)
            self.kept.pop(name, None)
            return dataclasses.replace(
                snapshot, groups=(), unreadable=unreadable(f"{type(exc).__name__}: {exc}")
            )
        if key is None:
            self.kept.pop(name, None)
        else:
            made = Kept(key, self.thresholds.get(name), self.maxlens.get(name), enriched)
            made.raw_groups = snapshot.groups
            self.kept[name] = made
        return enriched

    def _unchanged(
        self, snapshot: QueueSnapshot, key: tuple[Any, ...]
    ) -> tuple[QueueSnapshot | None, dict[str, trend.Verdict] | None]:
        """Last cycle's enrichment of a queue with this poll's ages, when nothing it shows
        but its rates moved: the poll read the same (``key``), same thresholds and MAXLEN,
        no claims, no age crossing a level, and every group's trend verdict the same.
        Otherwise (None, and the verdicts already observed, if any) the queue is enriched
        in full.

        Its trend windows take this poll's samples every cycle (O(1) each), so a verdict
        that time alone changes (a stall half a window long, a held WARN) is seen at once.
        Its rates and forecasts, which only decay while nothing moves, are recomputed at
        its refresh slot, every REFRESH_SLOTS polls (staggered by name), when it is
        enriched in full: recomputing them every cycle re-rendered, re-stored and re-pushed
        every queue that had any traffic in the last minute."""
        name = snapshot.name
        kept = self.kept.get(name)
        if kept is None or kept.key != key:
            return None, None
        thresholds = self.thresholds.get(name)
        if kept.thresholds is not thresholds or kept.maxlen != self.maxlens.get(name):
            return None, None
        if name in self.claimed_now:
            return None, None
        previous = kept.snapshot
        if (
            snapshot.groups is not kept.raw_groups
            and thresholds is not None
            and _ages_decide(thresholds, snapshot, previous)
        ):
            return None, None
        window = self.added.get(name)
        if not window:
            return None, None
        trackers = kept.trackers
        if trackers is None:
            found = []
            for g in snapshot.groups:
                tracker = None if g.unreadable else self.trends.get((name, g.name))
                if tracker is None and not g.unreadable:
                    return None, None  # never enriched in full with this group
                found.append(tracker)
            trackers = kept.trackers = tuple(found)
        policy = self.policy
        at_ms = snapshot.at_ms
        sample_of = trend.Sample
        verdicts: dict[str, trend.Verdict] = {}
        lineless: list[tuple[str, str, trend.GroupTrend]] = []  # judged without their line
        moved = self._crc(name) % REFRESH_SLOTS == self.polled_cycles % REFRESH_SLOTS
        groups = []
        alike = True  # every group as it was: the old tuple is kept (most still queues)
        for before, now, tracker in zip(previous.groups, snapshot.groups, trackers, strict=True):
            line = None
            if tracker is not None:  # (an unreadable group has no window)
                tracker.policy = policy
                sample = sample_of(
                    at_ms, now.entries_read, now.lag, now.last_delivered_id, now.active_consumers
                )
                # Until its refresh slot a still group's shown slope may wait: a settled
                # sample's state needs no fit (GroupTrend.observe_settled).
                state = None if moved else tracker.observe_settled(sample)
                if state is None:
                    verdict = verdicts[now.name] = tracker.observe(sample)
                    state, line = verdict.state, verdict.fit
                else:
                    lineless.append((now.name, state, tracker))
                moved = moved or state != before.trend
            if moved:
                continue  # enriched in full: the groups made here are not wanted
            slope = round(line.slope, 3) if line else before.trend_slope
            span = round(line.span_s, 1) if line else before.trend_window_s
            if (
                now.consumer_list is before.consumer_list
                and now.oldest_pending_ms == before.oldest_pending_ms
                and now.oldest_undelivered_ms == before.oldest_undelivered_ms
                and slope == before.trend_slope
                and span == before.trend_window_s
            ):
                groups.append(before)
                continue
            alike = False
            groups.append(
                evolve(
                    before,
                    oldest_pending_ms=now.oldest_pending_ms,
                    oldest_undelivered_ms=now.oldest_undelivered_ms,
                    consumer_list=now.consumer_list,
                    trend_slope=slope,
                    trend_window_s=span,
                )
            )
        if moved:
            for group_name, state, tracker in lineless:  # the full enrichment forecasts
                verdicts[group_name] = trend.Verdict(state, tracker.line())  # from the line
            return None, verdicts
        # It stands: the in-rate window takes this poll's point as ``_enrich`` would.
        window.append((at_ms, snapshot.entries_added))
        horizon = at_ms - policy.window_s * 1000
        while len(window) > 2 and window[0][0] < horizon:
            window.popleft()
        same = cast(
            QueueSnapshot,
            evolve(
                previous,
                at_ms=snapshot.at_ms,
                groups=previous.groups if alike else tuple(groups),
            ),
        )
        kept.snapshot = same
        kept.raw_groups = snapshot.groups
        self.unchanged.add(name)
        return same, None

    def _enrich(
        self, snapshot: QueueSnapshot, observed: dict[str, trend.Verdict] | None = None
    ) -> QueueSnapshot:
        return enrich.from_history(
            snapshot,
            trends=self.trends,
            added=self.added,
            claim_stats=self.claim_stats,
            thresholds=self.thresholds.get(snapshot.name),
            maxlen=self.maxlens.get(snapshot.name),
            observed=observed,
            policy=self.policy,  # read once per cycle: the settings lookup is ~15 µs
        )

    def _render(self, snapshots: list[QueueSnapshot]) -> list[Rendered]:
        """Each snapshot with its signature and whether this is its refresh cycle."""
        slot = self.polled_cycles % REFRESH_SLOTS
        out = []
        for s in snapshots:
            kept = self.kept.get(s.name)
            mine = kept is not None and kept.snapshot is s
            r = Rendered(
                s,
                self._crc(s.name) % REFRESH_SLOTS == slot,
                kept.signature if mine and kept is not None else None,
            )
            if mine and kept is not None:
                kept.signature = r.signature
            out.append(r)
        return out

    def _crc(self, name: str) -> int:
        found = self.crc.get(name)
        if found is None:
            found = self.crc[name] = zlib.crc32(name.encode())
        return found

    def _publish_queues(self, rendered: list[Rendered]) -> None:
        from dashboard.live import publish

        changed = []
        for r in rendered:
            if r.refresh or self.last_published.get(r.snapshot.name) != r.signature:
                self.last_published[r.snapshot.name] = r.signature
                changed.append(r.data)
        if changed:
            publish("queue.update", {"queues": changed, "cost": dataclasses.asdict(self.last_cost)})

    def _store(self, rendered: list[Rendered]) -> None:
        """History: at most one raw point per queue and snapshot interval (on a grid offset
        by the queue's name, so 10 000 queues are not all written in one cycle), and only
        when the queue changed since its last point or that point is
        ``STREAMWARDEN_HISTORY_KEEPALIVE`` old. An interval of 0 stores every poll."""
        from dashboard.models import MetricSnapshot

        interval_ms = int(conf.snapshot_interval() * 1000)
        keepalive_ms = int(conf.history_keepalive() * 1000)
        due = []
        for r in rendered:
            name, at_ms = r.snapshot.name, r.snapshot.at_ms
            if interval_ms > 0:
                tick = (at_ms - self._crc(name) % interval_ms) // interval_ms
                if self.history_tick.get(name) == tick:
                    continue
                self.history_tick[name] = tick
                last = self.history.get(name)
                if last is not None and last[0] == r.signature and at_ms - last[1] < keepalive_ms:
                    continue
            due.append(r)
        if not due:
            return
        self._extend_sparklines([r.snapshot for r in due])
        raw = MetricSnapshot.RAW
        # Rows in writes.SNAPSHOT_COLUMNS order, built directly (10 000 in an incident).
        writes.insert_snapshot_rows(
            [
                [
                    s.name,
                    raw,
                    _datetime(s.at_ms),
                    s.length,
                    s.lag,
                    s.pending,
                    s.consumers,
                    s.active_consumers,
                    s.dead_letters,
                    s.oldest_pending_ms,
                    s.oldest_undelivered_ms,
                    s.rate_in,
                    s.rate_out,
                    s.status,
                    s.trend,
                    {
                        g.name: dict(zip(_HISTORY_GROUP, _history_group(g), strict=True))
                        for g in s.groups
                    },
                ]
                for s in (r.snapshot for r in due)
            ]
        )
        for r in due:
            self.history[r.snapshot.name] = (r.signature, r.snapshot.at_ms)

    def _load_claims(self) -> None:
        """Feed the storm detector the claims ingested since the last cycle: the alerts
        app's ``claimed`` rows, one per library ``claimed`` event."""
        if not signals.claims_wanted.has_listeners():
            return  # dashboard without the alerts app: no claim stats
        answers = signals.emit(
            signals.claims_wanted,
            "claims_wanted",
            cursor=self.claims_cursor,
            since=_now() - timedelta(seconds=conf.storm_window()),
            limit=MAX_CLAIMS_PER_CYCLE,
        )
        for batch, cursor in answers[:1]:
            self.claims_cursor = cursor
            self.storms.add(_claim(*row) for row in batch)

    def _extend_sparklines(self, snapshots: list[QueueSnapshot]) -> None:
        """One lag (or length) point per stored snapshot, the last SPARK_POINTS kept."""
        from dashboard.models import QueueState

        if not self.spark_seeded:
            # A monitor taking over continues the sparklines its predecessor stored.
            names = [s.name for s in snapshots]
            for name, line in QueueState.objects.filter(queue__in=names).values_list(
                "queue", "sparkline"
            ):
                self.spark[name] = deque(line or [], maxlen=SPARK_POINTS)
            self.spark_seeded = True
        for s in snapshots:
            line = self.spark.setdefault(s.name, deque(maxlen=SPARK_POINTS))
            line.append(int(s.lag if s.lag is not None else s.length))
            self.spark_version[s.name] = self.spark_version.get(s.name, 0) + 1

    def _store_state(self, rendered: list[Rendered]) -> None:
        """Upsert the QueueState rows of queues that changed since they were last stored
        (or whose ages are due for their refresh).

        A change in what an operator acts on (``_headline``: status, reasons, trend,
        consumers, dead letters) is stored at once; a change in figures alone (length,
        entries read, rates: every queue with traffic, every poll) at the queue's turn,
        once in every ``STREAMWARDEN_STATE_FIGURES_EVERY`` / poll interval cycles, the turns
        staggered by name: their 3 KB JSON rewritten at every poll was a sixth of a cycle
        with all of them changing (issue #20). Turns counted in cycles, not seconds, keep
        the writes per cycle the same when cycles run long: on a grid of seconds, a cycle
        of 5 s crossed half of the 10 000 queues' ticks and rewrote them all. Live pages
        get every change by push. A queue whose only news is a sparkline point (a history
        point was stored) gets only its sparkline written, at its turn too: at 10 000 busy
        queues and 4 s cycles those were 6 000 UPDATEs a cycle.

        At its refresh slot a queue is rewritten only if an age it shows as a problem moved
        (``_shown_ages``): an oldest pending or undelivered entry, an inactive consumer's
        idle time. A healthy still queue's row stays as it is: its active consumers' idle
        times (under the active threshold by definition) were ~900 rewrites of 3 KB per
        cycle at 10 000 queues (issue #20)."""
        every = conf.state_figures_every()
        interval = self.interval or conf.poll_interval()
        # (an interval of 0, polls back to back, or a nonsense one: every cycle is a turn)
        turns = max(1, round(every / interval)) if every > 0 and interval > 0 else 1
        cycle = self.polled_cycles
        changed = []
        sparks = []
        for r in rendered:
            snapshot = r.snapshot
            name = snapshot.name
            version = self.spark_version.get(name, 0)
            stored = self.stored_state.get(name)
            turn = (cycle + self._crc(name) % turns) // turns
            ages = None
            if stored is None:
                headline = self._headline_of(name, r)
            else:
                if stored.signature != r.signature:
                    # (a queue waiting for its turn is looked at every cycle: its headline
                    # is made once per signature)
                    headline = self._headline_of(name, r)
                    due = (stored.headline, stored.tick) != (headline, turn)
                else:
                    headline, due = stored.headline, False
                if not due and r.refresh:
                    ages = _shown_ages(snapshot)
                    due = ages != stored.ages
                if not due:
                    # Figures alone moved since this turn's write: they wait for the next
                    # one, and so does a new sparkline point.
                    if stored.spark_version != version and turn != stored.spark_tick:
                        sparks.append((name, list(self.spark.get(name, ()))))
                        stored.spark_version = version
                        stored.spark_tick = turn
                    continue
            if ages is None:
                ages = _shown_ages(snapshot)
            line = list(self.spark.get(name, ()))
            stored = Stored(r.signature, version, headline, turn, ages)
            changed.append((_datetime(snapshot.at_ms), r, line, stored))
        if changed:
            writes.upsert_queue_states(
                [(r.snapshot.name, at, r.data, line) for at, r, line, _ in changed]
            )
            for _, r, _, stored in changed:
                self.stored_state[r.snapshot.name] = stored
        if sparks:
            writes.update_sparklines(sparks)

    def _headline_of(self, name: str, r: Rendered) -> bytes:
        """``_headline`` of a rendered snapshot, made once per signature of the queue."""
        found = self.headlines.get(name)
        if found is not None and found[0] == r.signature:
            return found[1]
        headline = _headline(r.snapshot)
        self.headlines[name] = (r.signature, headline)
        return headline

    def _sync_storms(self) -> None:
        """One ClaimStorm row per storm: opened when it starts, its peak kept up to date,
        closed when it ends; the alerts app is told when it supports storm incidents."""
        from dashboard.models import ClaimStorm

        now = _now()
        if not self.storms_adopted:
            # Storms a previous monitor left open: adopt those still raging, end the rest.
            for row in ClaimStorm.objects.filter(ended_at=None):
                key = (row.queue, row.group)
                stats = self.claim_stats.get(key)
                if stats is not None and stats.storm:
                    self.open_storms[key] = row.pk
                else:
                    ClaimStorm.objects.filter(pk=row.pk).update(ended_at=now)
            self.storms_adopted = True
        for key, stats in self.claim_stats.items():
            queue, group = key
            bouncing = [dataclasses.asdict(b) for b in stats.bouncing]
            if stats.storm and key not in self.open_storms:
                since = stats.storm_since_ms or int(now.timestamp() * 1000)
                row = ClaimStorm.objects.create(
                    queue=queue,
                    group=group,
                    started_at=datetime.fromtimestamp(since / 1000, UTC),
                    claims=stats.claims,
                    peak_rate=stats.rate_per_min,
                    messages=stats.messages,
                    bouncing=bouncing,
                )
                self.open_storms[key] = row.pk
                log.warning("monitor: claim storm on %s/%s (%s claims)", queue, group, stats.claims)
                self._storm_alert(queue, group, "alert", stats, bouncing)
            elif stats.storm:
                # Keep the peak: only a bigger window count rewrites the row.
                ClaimStorm.objects.filter(pk=self.open_storms[key], claims__lt=stats.claims).update(
                    claims=stats.claims,
                    peak_rate=stats.rate_per_min,
                    messages=stats.messages,
                    bouncing=bouncing,
                )
            elif key in self.open_storms:
                ClaimStorm.objects.filter(pk=self.open_storms.pop(key)).update(ended_at=now)
                log.info("monitor: claim storm on %s/%s is over", queue, group)
                self._storm_alert(queue, group, "ok", stats, bouncing)

    def _storm_alert(
        self, queue: str, group: str, state: str, stats: ClaimStats, bouncing: list[Any]
    ) -> None:
        # Without the alerts app the ClaimStorm row stays the incident and no alert is opened.
        signals.emit(
            signals.claim_storm_changed,
            "claim_storm_changed",
            queue=queue,
            group=group,
            status=state,
            details={
                "claims": stats.claims,
                "rate_per_min": stats.rate_per_min,
                "bouncing": bouncing,
            },
        )

    def _sync_alerts(self, snapshots: list[QueueSnapshot]) -> None:
        """Hand the alerts app every status that changed since the last cycle, in one bulk
        call (a few queries, whatever the count). If the database refuses it, each queue is
        tried in its own savepoint: a row it refuses costs that queue this cycle (tried again
        next cycle), never the others. Unreadable queues and groups keep their alerts as
        they were: nothing is known about them."""
        if not signals.statuses_changed.has_listeners():
            return
        change = signals.StatusReport

        def hook(*, changes: list[Any]) -> None:
            signals.emit(signals.statuses_changed, "statuses_changed", reports=changes)

        per_queue: list[list[tuple[tuple[str, str, str | None], Any]]] = []
        seen = []
        last = self.last_status
        for s in snapshots:
            if s.unreadable:
                continue
            name = s.name
            if name in self.unchanged and name in self.alerts_clean:
                continue  # the statuses it had last cycle, all of them recorded
            seen.append(name)
            # Details are built only for what changed: 10 000 queues are compared every
            # cycle, and few of their 70 000 statuses move.
            due: list[tuple[tuple[str, str, str | None], Any]] = []
            key: tuple[str, str, str | None] = ("threshold", name, None)
            if last.get(key) != s.status:
                details = {"checks": s.checks, "dead_letters": s.dead_letters}
                due.append((key, change("threshold", name, None, s.status, details, s.redis_url)))
            for g in s.groups:
                if g.unreadable:
                    continue
                held = last.get(("threshold", name, g.name)), last.get(("trend", name, g.name))
                if held == (g.status, g.trend):
                    continue
                details = {
                    "lag": g.lag,
                    "pending": g.pending,
                    "active_consumers": g.active_consumers,
                }
                for kind, state, before in (
                    ("threshold", g.status, held[0]),
                    ("trend", g.trend, held[1]),
                ):
                    if before != state:
                        report = change(kind, name, g.name, state, details, s.redis_url)
                        due.append(((kind, name, g.name), report))
            if not s.error:
                # A group deleted (or no longer watched) since the last cycle: its alerts
                # resolve rather than stay open forever.
                current = {g.name for g in s.groups}
                for gone in self.groups_seen.get(name, set()) - current:
                    for kind, state in (("threshold", "ok"), ("trend", "OK")):
                        if last.get((kind, name, gone)) != state:
                            report = change(
                                kind, name, gone, state, {"group_gone": True}, s.redis_url
                            )
                            due.append(((kind, name, gone), report))
                    self.trends.pop((name, gone), None)
                    self.kept.pop(name, None)  # it holds the trackers of its groups
                self.groups_seen[name] = current
            if due:
                per_queue.append(due)
        # Queues with nothing to record are clean; the others once their batch is stored.
        self.alerts_clean.update(seen)
        self.alerts_clean.difference_update(due[0][0][1] for due in per_queue)
        if not per_queue:
            return
        try:
            with transaction.atomic():
                hook(changes=[c for due in per_queue for _, c in due])
            batches = per_queue
        except DatabaseError as exc:
            log.warning("monitor: bulk alert sync refused (%s); one queue at a time", exc)
            batches = []
            for due in per_queue:
                try:
                    with transaction.atomic():
                        hook(changes=[c for _, c in due])
                    batches.append(due)
                except DatabaseError as exc:
                    self.db_error = f"{type(exc).__name__}: {exc}"
                    log.warning("monitor: alerts of queue %s not stored: %s", due[0][0][1], exc)
        for due in batches:
            self.last_status.update((key, c.status) for key, c in due)
            self.alerts_clean.add(due[0][0][1])

    def _ingest_events(self, snapshots: list[QueueSnapshot]) -> None:
        """Hand the alerts app the library queues whose events moved since they were last
        read to the end (``ChangeWatch.events``; all of them at start-up and where the
        poll's check could not tell); a queue whose ingestion failed is handed again next
        cycle. The alerts app also looks at every queue now and then for events another
        consumer left pending. One call per Redis server."""
        if not signals.events_due.has_listeners():
            return  # a dashboard without the alerts app: nothing reads the events
        marks = self.watch.events
        by_url: dict[str, dict[str, None]] = {}
        for s in snapshots:
            if s.plain:
                # No library events there; reading them would create keys in a foreign Redis.
                continue
            if s.unreadable and not s.exists:
                continue  # its name or its server could not be read: no events either
            by_url.setdefault(s.redis_url, {})[s.queue] = None
        for url, names in by_url.items():
            queues = list(names)
            moved = marks.due(url, queues)
            try:
                answers = signals.emit(
                    signals.events_due,
                    "events_due",
                    redis_url=url,
                    queues=queues,
                    moved=moved,
                    consumer_name=f"monitor-{self.name}",
                )
            except DatabaseError as exc:
                log.warning("monitor: event ingest skipped, database error %s", exc)
                answers = []
            drained: set[str] = set()
            for answer in answers:
                drained.update(answer)
            # No answer: a receiver failed (logged); what it read stays pending in Redis.
            marks.done(url, drained)
            marks.failed(url, [q for q in moved if q not in drained])

    def _retention(self) -> None:
        """Roll up one slice of the queues per cycle, each slice at most once per retention
        interval, and delete at most PRUNE_LIMIT old rows of each resolution. Done all at
        once, a minute of 10 000 queues (~40 000 raw rows) cost ~0.7 s of one cycle a
        minute. In ten slices it still made ten cycles in a row 0.4-0.7 s longer (issue #20,
        a slower machine); in RETENTION_SLOTS (60) each cycle carries a sixtieth."""
        from dashboard.monitor.retention import prune, rollup

        slot = self.retention_slot
        self.retention_slot = (slot + 1) % RETENTION_SLOTS
        now = time.monotonic()
        last = self.retention_at[slot]
        if last is None or now - last >= conf.retention_interval():
            self.retention_at[slot] = now
            names = [t.name for t in self.targets if self._crc(t.name) % RETENTION_SLOTS == slot]
            if names:
                with transaction.atomic():
                    rollup(now=_now(), queues=names)
        # Only once every slice was rolled up since the start: a monitor back after more
        # than the raw retention rolls its old raw rows up before they go.
        if None not in self.retention_at:
            prune(now=_now(), limit=PRUNE_LIMIT)

    def _redis_down(self, url: str, error: str) -> None:
        if self.redis_down_since is None:
            self.redis_down_since = _now()
            log.error("monitor: Redis unreachable at %s: %s", redact_url(url), error)
        self.redis_error = error
        if self.reachable.get(url) is not False:
            self.reachable[url] = False
            try:
                signals.emit(
                    signals.redis_reachability,
                    "redis_reachability",
                    redis_url=url,
                    reachable=False,
                    error=error,
                )
            except DatabaseError as exc:
                log.warning("monitor: cannot record Redis outage in the database: %s", exc)
                self.reachable.pop(url, None)

    def status_json(self) -> dict[str, Any]:
        return {
            "holder": self.name,
            "active": self.lease.held,
            "redis_ok": self.redis_down_since is None,
            "redis_error": self.redis_error,
            "redis_down_since": self.redis_down_since.isoformat()
            if self.redis_down_since
            else None,
            "db_error": self.db_error,
            "poll_commands": self.last_cost.commands,
            "poll_ms": round(self.last_cost.ms, 2),
            "poll_queues": self._poll_queues(),
            "queues": self.last_cost.queues,
            "cycles": self.polled_cycles,
            "cycle_ms": round(self.cycle_ms, 1),
            "phases": self.phases,
            "at": _now().isoformat(),
        }

    def _poll_queues(self) -> dict[str, int]:
        """Queues of the last poll: fingerprints checked, found changed, read in full."""
        cost = self.last_cost
        return {"checked": cost.checked, "changed": cost.changed, "read": cost.read}

    def _report(self) -> None:
        """Tell browsers (websocket) and the database (pages, API) how the monitor is."""
        from dashboard.live import publish
        from dashboard.models import MonitorState

        data = self.status_json()
        publish("monitor.status", data)
        try:
            MonitorState.objects.update_or_create(
                key="monitor",
                defaults={
                    "holder": self.name,
                    "last_cycle_at": _now(),
                    "redis_ok": data["redis_ok"],
                    "redis_error": self.redis_error[:500],
                    "redis_down_since": self.redis_down_since,
                    "poll_commands": self.last_cost.commands,
                    "poll_ms": self.last_cost.ms,
                    "poll_queues": data["poll_queues"],
                    "queues": self.last_cost.queues,
                    "cycles": self.polled_cycles,
                    "cycle_ms": self.cycle_ms,
                    "phases": self.phases,
                },
            )
        except DatabaseError as exc:
            self.db_error = f"{type(exc).__name__}: {exc}"
            log.warning("monitor: cannot record its state in the database: %s", exc)
            close_old_connections()
            return
        # A completed cycle ends a monitor_down alert (the notifier would, a tick later).
        self._resolve_monitor_down()

    def _resolve_monitor_down(self) -> None:
        try:
            signals.emit(signals.cycle_recorded, "cycle_recorded")
        except DatabaseError as exc:
            log.warning("monitor: cannot resolve monitor_down: %s", exc)
            close_old_connections()

    def shutdown(self) -> None:
        self.lease.release()


def _ages_decide(thresholds: Any, snapshot: QueueSnapshot, previous: QueueSnapshot) -> bool:
    """Whether an age moved a status: a group's oldest-pending check (its oldest pending
    entry's age grows at every poll) differs from last cycle's. An age that stays under its
    levels, or over the same one, decides nothing; a reason naming it ("oldest pending 75 s
    ≥ 60 s") is written again at the queue's refresh slot, like its rates."""
    level = thresholds.levels.get("oldest_pending")
    if level is None or (level.warn is None and level.alert is None):
        return False
    status_of = thresholds.status_of
    for now, before in zip(snapshot.groups, previous.groups, strict=True):
        age, was = now.oldest_pending_ms, before.oldest_pending_ms
        if age == was:
            continue
        if age is None or was is None:
            return True
        if status_of("oldest_pending", age / 1000) != status_of("oldest_pending", was / 1000):
            return True
    return False


@functools.lru_cache(maxsize=64)
def _datetime(at_ms: int) -> datetime:
    """The datetime of a poll time (the queues of one Redis share it: made once)."""
    return datetime.fromtimestamp(at_ms / 1000, UTC)


def _claim(queue: str, group: str, message_id: str, details: Any, created_at: datetime) -> Claim:
    fields = details if isinstance(details, dict) else {}
    try:
        at_ms = int(fields["time"])
    except (KeyError, TypeError, ValueError):
        at_ms = int(created_at.timestamp() * 1000)
    try:
        deliveries: int | None = int(fields["deliveries"])
    except (KeyError, TypeError, ValueError):
        deliveries = None
    return Claim(
        at_ms=at_ms,
        queue=queue,
        group=group or str(fields.get("group", "")),
        message_id=message_id or str(fields.get("id", "")),
        previous_owner=str(fields.get("previous_owner", "")),
        new_owner=str(fields.get("new_owner", "")),
        deliveries=deliveries,
    )
