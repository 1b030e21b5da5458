"""Typed values the monitor produces; pages, API and alerts render only these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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
    # Filled by the monitor after classification (not by the poller):
    status: str = "ok"
    trend: str = "OK"
    rate_out: float | None = None
    drain_seconds: float | None = None
    breach_seconds: float | None = None


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
    dead_letters: int = 0
    groups: tuple[GroupSnapshot, ...] = ()
    error: str = ""
    status: str = "ok"
    trend: str = "OK"
    checks: dict[str, str] = field(default_factory=dict)
    rate_in: float | None = None
    rate_out: float | None = None

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

    def as_json(self) -> dict[str, Any]:
        """Plain JSON for the websocket, the API and the page's JS."""
        data = asdict(self)
        data.update(
            lag=self.lag,
            pending=self.pending,
            consumers=self.consumers,
            active_consumers=self.active_consumers,
            oldest_pending_ms=self.oldest_pending_ms,
            oldest_undelivered_ms=self.oldest_undelivered_ms,
        )
        data.pop("redis_url")  # may carry a password
        return data


@dataclass(frozen=True)
class PollCost:
    commands: int
    ms: float
    queues: int


@dataclass(frozen=True)
class PollResult:
    snapshots: tuple[QueueSnapshot, ...]
    cost: PollCost
    unreachable: dict[str, str]  # redis_url -> error, for Redis servers that did not answer
