"""A consumer's configuration: every argument check in one place, shared by queues.Consumer
and queues.aio.Consumer (sans I/O: nothing here talks to Redis).

``ConsumerConfig(queue, group, **options)`` raises ValueError/TypeError for anything a
consumer would refuse, and offers the derived values (heartbeat interval, claim interval,
lock TTL) both twins use. Defaults here are the constructors' defaults.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any

from queues import commands, entries
from queues.keys import MAX_PRIORITY, RETRY_CONSUMER, queue_keys, validate_name
from queues.serializers import Serializer


def default_name() -> str:
    """``hostname-pid-random``: unique per process, readable in XINFO CONSUMERS."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def check_handler(handler: Any, usage: str = "handler(message) -> None") -> None:
    """TypeError unless ``handler`` is callable."""
    if not callable(handler):
        raise TypeError(f"handler must be callable: {usage}")


def check_payload_cap(max_payload_bytes: int | None) -> None:
    """ValueError unless ``max_payload_bytes`` is None or a positive integer."""
    if max_payload_bytes is not None and (
        not isinstance(max_payload_bytes, int)
        or isinstance(max_payload_bytes, bool)
        or max_payload_bytes < 1
    ):
        raise ValueError(
            f"max_payload_bytes must be an integer >= 1 or None, got {max_payload_bytes!r}"
        )


def check_on_group_lost(on_group_lost: str) -> None:
    """ValueError unless ``on_group_lost`` is one of commands.ON_GROUP_LOST."""
    if on_group_lost not in commands.ON_GROUP_LOST:
        raise ValueError(
            f"on_group_lost must be one of {commands.ON_GROUP_LOST}, got {on_group_lost!r}"
        )


def heartbeat_every(heartbeat_interval: float | None, claim_idle: float) -> float:
    """The heartbeat interval to use (``claim_idle / 3`` when None); ValueError unless it is
    positive and below two thirds of claim_idle. A read-ahead reply waits up to half an
    interval before the heartbeat takes it in, then up to one interval for its first
    refresh: 1.5 intervals must stay below claim_idle, or other consumers claim it."""
    if heartbeat_interval is None:
        return claim_idle / 3
    if not heartbeat_interval > 0:
        raise ValueError(f"heartbeat_interval must be positive, got {heartbeat_interval!r}")
    if heartbeat_interval * 1.5 >= claim_idle:
        raise ValueError(
            f"heartbeat_interval={heartbeat_interval!r} must be below 2/3 of "
            f"claim_idle={claim_idle!r}: held messages would go idle for claim_idle and be "
            "claimed by other consumers while this one still handles them"
        )
    return float(heartbeat_interval)


@dataclass(frozen=True, kw_only=True)
class ConsumerConfig:
    """Everything a consumer was asked for, checked. ``name`` None becomes a unique name."""

    queue: str
    group: str
    name: str | None = None
    claim_idle: float = 30.0
    max_deliveries: int = 5
    concurrency: int = 1
    batch_size: int | None = None
    block_ms: int = 1_000
    backoff_base: float = 1.0
    backoff_max: float = 300.0
    backoff_jitter: float = 0.1
    claim_interval: float | None = None
    claim_batch: int = 100
    heartbeat_interval: float | None = None
    ack_interval: float = 0.05
    start_id: str = "0"
    serializer: Serializer | None = None
    shutdown_timeout: float | None = 60.0
    handler_timeout: float | None = None
    handle_signals: bool = True
    move_batch: int = 100
    move_interval: float = 0.2
    ordered: bool = False
    on_active: str = "wait"
    lock_ttl: float | None = None
    priorities: int = 1
    level: int = 0
    read_ahead: bool = True
    guard: bool = False
    max_payload_bytes: int | None = entries.MAX_PAYLOAD_BYTES
    on_group_lost: str = "recreate"

    def __post_init__(self) -> None:
        check_payload_cap(self.max_payload_bytes)
        check_on_group_lost(self.on_group_lost)
        for label, value in (
            ("claim_idle", self.claim_idle),
            ("backoff_max", self.backoff_max),
            ("ack_interval", self.ack_interval),
            ("move_interval", self.move_interval),
        ):
            if not value > 0:
                raise ValueError(f"{label} must be positive, got {value!r}")
        for label, count in (
            ("max_deliveries", self.max_deliveries),
            ("concurrency", self.concurrency),
            ("batch_size", 1 if self.batch_size is None else self.batch_size),
            ("claim_batch", self.claim_batch),
            ("block_ms", self.block_ms),
            ("move_batch", self.move_batch),
        ):
            if not isinstance(count, int) or count < 1:
                raise ValueError(f"{label} must be an integer >= 1, got {count!r}")
        if self.ordered and self.concurrency != 1:
            raise ValueError("ordered=True handles one message at a time: use concurrency=1")
        if self.ordered and self.guard:
            # a message skipped for another consumer's token would let newer ones run first
            raise ValueError(
                "guard=True cannot be combined with ordered=True (its lock already "
                "keeps one consumer active per group)"
            )
        if self.on_active not in ("wait", "exit"):
            raise ValueError(f"on_active must be 'wait' or 'exit', got {self.on_active!r}")
        if self.backoff_base < 0 or not 0 <= self.backoff_jitter < 1:
            raise ValueError("backoff_base must be >= 0 and backoff_jitter in [0, 1)")
        priorities = self.priorities
        if not isinstance(priorities, int) or not 1 <= priorities <= MAX_PRIORITY + 1:
            raise ValueError(f"priorities must be 1..{MAX_PRIORITY + 1}, got {priorities!r}")
        if priorities > 1 and (self.ordered or self.level):
            raise ValueError("priorities= cannot be combined with ordered=True or level=")
        queue_keys(self.queue, self.level)  # the queue name and the level
        validate_name(self.group, "group name")
        name = validate_name(self.name or default_name(), "consumer name")
        if name == RETRY_CONSUMER:
            raise ValueError(f"{RETRY_CONSUMER!r} is reserved for parked retries")
        object.__setattr__(self, "name", name)
        heartbeat_every(self.heartbeat_interval, self.claim_idle)
        if not self.lock_seconds > 0:
            raise ValueError(f"lock_ttl must be positive, got {self.lock_ttl!r}")

    @property
    def consumer_name(self) -> str:
        """The name, resolved (never None after construction)."""
        assert self.name is not None
        return self.name

    @property
    def heartbeat_seconds(self) -> float:
        """Seconds between two refreshes of the held entries (see heartbeat_every)."""
        return heartbeat_every(self.heartbeat_interval, self.claim_idle)

    @property
    def claim_every(self) -> float:
        """Seconds between two claim-scan steps: claim_interval, else claim_idle / 2 up to 5 s."""
        if self.claim_interval is not None:
            return self.claim_interval
        return min(self.claim_idle / 2, 5.0)

    @property
    def lock_seconds(self) -> float:
        """The ordered lock's TTL: lock_ttl, else claim_idle."""
        return self.lock_ttl if self.lock_ttl is not None else self.claim_idle

    @property
    def backoff(self) -> tuple[float, float, float]:
        """(base, cap, jitter) of the retry backoff."""
        return self.backoff_base, self.backoff_max, self.backoff_jitter

    def decide_failure(self, deliveries: int) -> commands.FailureDecision:
        """What a handler failure at delivery ``deliveries`` leads to (commands.decide_failure)."""
        return commands.decide_failure(
            deliveries,
            max_deliveries=self.max_deliveries,
            ordered=self.ordered,
            base=self.backoff_base,
            cap=self.backoff_max,
            jitter=self.backoff_jitter,
        )
