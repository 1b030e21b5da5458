"""Typed values the monitor produces; pages, API and alerts render only these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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

    # The queue's totals over its groups, taken in one pass and kept with the groups they
    # were taken from (``_totals``): the monitor reads most of them for every queue.

    @property
    def lag(self) -> int | None:
        return self._totals()["lag"]  # type: ignore[no-any-return]

    @property
    def pending(self) -> int:
        return self._totals()["pending"]  # type: ignore[no-any-return]

    @property
    def consumers(self) -> int:
        return self._totals()["consumers"]  # type: ignore[no-any-return]

    @property
    def active_consumers(self) -> int:
        return self._totals()["active_consumers"]  # type: ignore[no-any-return]

    @property
    def oldest_pending_ms(self) -> int | None:
        return self._totals()["oldest_pending_ms"]  # type: ignore[no-any-return]

    @property
    def oldest_undelivered_ms(self) -> int | None:
        return self._totals()["oldest_undelivered_ms"]  # type: ignore[no-any-return]

    @property
    def drain_seconds(self) -> float | None:
        """Until every watched group has caught up: the slowest group; None if one never
        will at current rates."""
        return self._totals()["drain_seconds"]  # type: ignore[no-any-return]

    @property
    def breach_seconds(self) -> float | None:
        """Until the first group's lag crosses its alert threshold; None if none will."""
        return self._totals()["breach_seconds"]  # type: ignore[no-any-return]

    @property
    def parked(self) -> int | None:
        """Retries parked on __retry__ across groups (counted in ``pending``)."""
        return self._totals()["parked"]  # type: ignore[no-any-return]

    @property
    def forecast_unstable(self) -> bool:
        """A group's rates swing too much for its forecasts: the queue's are incomplete."""
        return self._totals()["forecast_unstable"]  # type: ignore[no-any-return]

    @property
    def storm(self) -> bool:
        return self._totals()["storm"]  # type: ignore[no-any-return]

    @property
    def claim_rate(self) -> float | None:
        return self._totals()["claim_rate"]  # type: ignore[no-any-return]

    def _totals(self) -> dict[str, Any]:
        # Kept in the instance's dict (a frozen dataclass: set by hand) with the groups
        # tuple and ``plain`` it was taken from: a copy made by ``evolve`` with other groups
        # takes its own.
        kept = self.__dict__.get(_TOTALS)
        if kept is not None and kept[0] is self.groups and kept[1] == self.plain:
            return kept[2]  # type: ignore[no-any-return]
        totals = _totals(self.groups, self.plain)
        self.__dict__[_TOTALS] = (self.groups, self.plain, totals)
        return totals

    def as_json(self) -> dict[str, Any]:
        """Plain JSON for the websocket, the API and the page's JS."""
        # By hand, not dataclasses.asdict (it deep-copies every value), from the instance's
        # dict (a frozen dataclass's fields, in order): the monitor renders every queue that
        # changed, 10 000 of them per cycle in an incident.
        data = self.__dict__.copy()
        del data["redis_url"]  # it may hold a password
        data.pop(_TOTALS, None)
        data["groups"] = [_group_json(g) for g in self.groups]
        data["checks"] = dict(self.checks)
        data["levels"] = list(self.levels)
        data["unwatched_groups"] = list(self.unwatched_groups)
        data["trim_risk"] = None if self.trim_risk is None else asdict(self.trim_risk)
        data.update(self._totals())
        return data


_TOTALS = "_totals_of"


def _totals(groups: tuple[GroupSnapshot, ...], plain: bool) -> dict[str, Any]:
    """A queue's figures over its groups (the properties of QueueSnapshot), in one pass."""
    lag = pending = consumers = active = parked = 0
    claim_rate = 0.0
    lags = parks = claim_rates = drains = 0
    oldest_pending = oldest_undelivered = drain = breach = None
    unstable = storm = False
    for g in groups:
        pending += g.pending
        consumers += g.consumers
        active += g.active_consumers
        if g.lag is not None:
            if not lags or g.lag > lag:
                lag = g.lag
            lags += 1
        if g.parked is not None:
            parked += g.parked
            parks += 1
        if g.claim_rate is not None:
            claim_rate += g.claim_rate
            claim_rates += 1
        age = g.oldest_pending_ms
        if age is not None and (oldest_pending is None or age > oldest_pending):
            oldest_pending = age
        age = g.oldest_undelivered_ms
        if age is not None and (oldest_undelivered is None or age > oldest_undelivered):
            oldest_undelivered = age
        if g.drain_seconds is not None:
            drains += 1
            if drain is None or (g.drain_seconds or 0.0) > drain:
                drain = g.drain_seconds or 0.0
        if g.breach_seconds is not None and (breach is None or g.breach_seconds < breach):
            breach = g.breach_seconds
        unstable = unstable or g.forecast_unstable
        storm = storm or g.storm
    return {
        # The slowest group; None while one never catches up, or without groups.
        "drain_seconds": drain if groups and drains == len(groups) else None,
        "breach_seconds": breach,
        "forecast_unstable": unstable,
        "parked": parked if parks else (None if plain else 0),
        "storm": storm,
        "claim_rate": round(claim_rate, 2) if claim_rates else None,
        "lag": lag if lags else (None if groups else 0),
        "pending": pending,
        "consumers": consumers,
        "active_consumers": active,
        "oldest_pending_ms": oldest_pending,
        "oldest_undelivered_ms": oldest_undelivered,
    }


def _group_json(group: GroupSnapshot) -> dict[str, Any]:
    # The instance dicts are the fields (frozen dataclasses, copied whole by ``evolve``);
    # copying them is a tenth of the cost of one getattr per field.
    data = group.__dict__.copy()
    data["consumer_list"] = [c.__dict__.copy() for c in group.consumer_list]
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
