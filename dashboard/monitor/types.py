"""Typed values the monitor produces; pages, API and alerts render only these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from dashboard.monitor.storms import Bounce
from dashboard.monitor.trimrisk import TrimRisk


@dataclass(frozen=True)
class ConsumerSnapshot:
    name: str
    pending: int
    idle_ms: int
    active: bool


@dataclass(frozen=True)
class GroupSnapshot:
    name: str
    consumers: int
    active_consumers: int
    pending: int
    lag: int | None
    entries_read: int | None
    last_delivered_id: str
    oldest_pending_ms: int | None
    oldest_undelivered_ms: int | None
    consumer_list: tuple[ConsumerSnapshot, ...] = ()
    unreadable: str = ""  # "unreadable: <reason>" when its replies could not be read
    # Of ``pending``: entries parked on the library's __retry__ consumer for a later retry
    # (None: a plain stream, where nothing parks).
    parked: int | None = 0
    consumers_omitted: int = 0  # consumers beyond STREAMWARDEN_MAX_CONSUMERS, not listed
    # deliveries not run again (already processed), counted by consumers; None: a plain stream
    duplicates: int | None = 0
    # Plain streams only (None otherwise): redeliveries to the same owner seen by comparing
    # pending lists between polls (dashboard.monitor.inferred), since this monitor started.
    redeliveries: int | None = None
    # Filled by the monitor after classification (not by the poller):
    status: str = "ok"
    reason: str = ""  # why the status: "lag 500 ≥ 100" (dashboard.monitor.status)
    trend: str = "OK"
    # The trend's evidence: the lag's regression slope (messages/s) over the seconds it covers.
    trend_slope: float | None = None
    trend_window_s: float | None = None
    rate_out: float | None = None
    drain_seconds: float | None = None
    breach_seconds: float | None = None
    forecast_spread: float | None = None  # the forecasts' ± share (dashboard.monitor.forecast)
    forecast_unstable: bool = False  # rates swing: forecasts withheld
    # Claim stats over the storm window (dashboard.monitor.storms):
    claims: int = 0
    claim_rate: float | None = None  # claims per minute
    storm: bool = False
    bouncing: tuple[Bounce, ...] = ()


@dataclass(frozen=True)
class QueueSnapshot:
    """One queue at one poll. ``error`` set means it could not be read (other fields zero)."""

    name: str
    queue: str
    redis_url: str
    at_ms: int
    exists: bool = True
    length: int = 0
    entries_added: int | None = None
    last_id: str = ""
    dead_letters: int | None = 0  # None: a plain stream (only library queues have them)
    groups: tuple[GroupSnapshot, ...] = ()
    error: str = ""
    #: "unreadable: <reason>" when the server answered but the queue could not be read
    #: (a key of the wrong type, a reply that does not decode); its figures are zero.
    unreadable: str = ""
    groups_omitted: int = 0  # groups beyond STREAMWARDEN_MAX_GROUPS, not in ``groups``
    status: str = "ok"
    reason: str = ""  # why the status: "dead letters 226 ≥ 100" (dashboard.monitor.status)
    trend: str = "OK"
    checks: dict[str, str] = field(default_factory=dict)
    rate_in: float | None = None
    rate_out: float | None = None
    trim_risk: TrimRisk | None = None  # at the queue definition's MAXLEN, when it has one
    levels: tuple[int, ...] = ()  # priority levels above 0, counted in the figures above
    plain: bool = False  # a plain stream (any key), not a StreamWarden queue
    # Groups in Redis the definition's groups list leaves out (shown marked "not watched").
    unwatched_groups: tuple[str, ...] = ()

    @property
    def lag(self) -> int | None:
        lags = [g.lag for g in self.groups if g.lag is not None]
        return max(lags) if lags else (None if self.groups else 0)

    @property
    def pending(self) -> int:
        return sum(g.pending for g in self.groups)

    @property
    def consumers(self) -> int:
        return sum(g.consumers for g in self.groups)

    @property
    def active_consumers(self) -> int:
        return sum(g.active_consumers for g in self.groups)

    @property
    def oldest_pending_ms(self) -> int | None:
        ages = [g.oldest_pending_ms for g in self.groups if g.oldest_pending_ms is not None]
        return max(ages) if ages else None

    @property
    def oldest_undelivered_ms(self) -> int | None:
        ages = [g.oldest_undelivered_ms for g in self.groups if g.oldest_undelivered_ms is not None]
        return max(ages) if ages else None

    @property
    def drain_seconds(self) -> float | None:
        """Until every watched group has caught up: the slowest group; None if one never
        will at current rates."""
        if not self.groups:
            return None
        drains = [g.drain_seconds for g in self.groups]
        return None if any(d is None for d in drains) else max(d or 0.0 for d in drains)

    @property
    def breach_seconds(self) -> float | None:
        """Until the first group's lag crosses its alert threshold; None if none will."""
        breaches = [g.breach_seconds for g in self.groups if g.breach_seconds is not None]
        return min(breaches) if breaches else None

    @property
    def parked(self) -> int | None:
        """Retries parked on __retry__ across groups (counted in ``pending``)."""
        known = [g.parked for g in self.groups if g.parked is not None]
        return sum(known) if known else (None if self.plain else 0)

    @property
    def forecast_unstable(self) -> bool:
        """A group's rates swing too much for its forecasts: the queue's are incomplete."""
        return any(g.forecast_unstable for g in self.groups)

    @property
    def storm(self) -> bool:
        return any(g.storm for g in self.groups)

    @property
    def claim_rate(self) -> float | None:
        rates = [g.claim_rate for g in self.groups if g.claim_rate is not None]
        return round(sum(rates), 2) if rates else None

    def as_json(self) -> dict[str, Any]:
        """Plain JSON for the websocket, the API and the page's JS."""
        # By hand, not dataclasses.asdict: asdict deep-copies every value, and the monitor
        # renders every queue every cycle (it was most of a 10 000-queue cycle).
        data = {name: getattr(self, name) for name in _QUEUE_FIELDS}
        data["groups"] = [_group_json(g) for g in self.groups]
        data["checks"] = dict(self.checks)
        data["levels"] = list(self.levels)
        data["unwatched_groups"] = list(self.unwatched_groups)
        data["trim_risk"] = None if self.trim_risk is None else asdict(self.trim_risk)
        data.update(
            drain_seconds=self.drain_seconds,
            breach_seconds=self.breach_seconds,
            forecast_unstable=self.forecast_unstable,
            parked=self.parked,
            storm=self.storm,
            claim_rate=self.claim_rate,
            lag=self.lag,
            pending=self.pending,
            consumers=self.consumers,
            active_consumers=self.active_consumers,
            oldest_pending_ms=self.oldest_pending_ms,
            oldest_undelivered_ms=self.oldest_undelivered_ms,
        )
        return data


_QUEUE_FIELDS = [f.name for f in fields(QueueSnapshot) if f.name != "redis_url"]  # a password
_GROUP_FIELDS = [f.name for f in fields(GroupSnapshot)]
_CONSUMER_FIELDS = [f.name for f in fields(ConsumerSnapshot)]


def _group_json(group: GroupSnapshot) -> dict[str, Any]:
    data = {name: getattr(group, name) for name in _GROUP_FIELDS}
    data["consumer_list"] = [
        {name: getattr(c, name) for name in _CONSUMER_FIELDS} for c in group.consumer_list
    ]
    data["bouncing"] = [asdict(b) for b in group.bouncing]
    return data


def evolve(obj: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` for the monitor's frozen snapshots without ``__init__`` (they
    validate nothing): about ten times cheaper, and a cycle makes 40 000 of them."""
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    new.__dict__.update(changes)
    return new


@dataclass(frozen=True)
class PollCost:
    commands: int
    ms: float
    queues: int
    checked: int = 0  # queues whose fingerprint was checked (change-driven polling)
    changed: int = 0  # of those, found changed (or never seen before)
    read: int = 0  # queues read in full: changed, due for their refresh, or unreadable


@dataclass(frozen=True)
class PollResult:
    snapshots: tuple[QueueSnapshot, ...]
    cost: PollCost
    unreachable: dict[str, str]  # redis_url -> error, for Redis servers that did not answer
    #: Queues (by name) the change check found still: their snapshots are the last ones with
    #: this poll's ages (change-driven polling; empty without a ChangeWatch).
    still: frozenset[str] = frozenset()
