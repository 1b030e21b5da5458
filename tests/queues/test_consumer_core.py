"""The sans-I/O core both consumers share (queues/consumer/config.py, timing.py and
commands.decide_failure): argument checks, the retry rule, how long reads and the mover wait."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

import queues
import queues.aio
from queues import commands
from queues.consumer import ConsumerConfig, timing


def test_decide_failure_retries_with_backoff_then_dead_letters() -> None:
    rule = {"max_deliveries": 3, "base": 1.0, "cap": 3.0, "jitter": 0.0}
    assert commands.decide_failure(1, ordered=False, **rule) == (commands.RETRY, 1.0)
    assert commands.decide_failure(2, ordered=False, **rule) == (commands.RETRY, 2.0)
    assert commands.decide_failure(3, ordered=False, **rule) == (commands.DEAD_LETTER, 0.0)
    assert commands.decide_failure(9, ordered=False, **rule).action == commands.DEAD_LETTER


def test_decide_failure_holds_in_ordered_mode_until_the_last_delivery() -> None:
    rule = {"max_deliveries": 5, "base": 2.0, "cap": 5.0, "jitter": 0.0}
    assert commands.decide_failure(3, ordered=True, **rule) == (commands.HOLD, 5.0)
    assert commands.decide_failure(5, ordered=True, **rule).action == commands.DEAD_LETTER


def test_config_decides_with_its_own_backoff() -> None:
    config = ConsumerConfig(queue="q", group="g", backoff_base=0.5, backoff_jitter=0.0)
    assert config.decide_failure(2) == (commands.RETRY, 1.0)
    assert config.decide_failure(5).action == commands.DEAD_LETTER


def test_config_resolves_the_name_once_and_derives_intervals() -> None:
    config = ConsumerConfig(queue="q", group="g", claim_idle=12.0)
    assert config.name and config.name == config.consumer_name
    assert config.heartbeat_seconds == 4.0
    assert config.claim_every == 5.0
    assert config.lock_seconds == 12.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.claim_idle = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"claim_idle": 0}, "claim_idle must be positive"),
        ({"move_interval": -1}, "move_interval must be positive"),
        ({"batch_size": 0}, "batch_size must be an integer"),
        ({"concurrency": 2, "ordered": True}, "concurrency=1"),
        ({"priorities": 11}, "priorities must be"),
        ({"name": "__retry__"}, "reserved"),
        ({"heartbeat_interval": 20.0}, "below 2/3"),
        ({"on_group_lost": "ignore"}, "on_group_lost"),
        ({"max_payload_bytes": 0}, "max_payload_bytes"),
        ({"lock_ttl": 0}, "lock_ttl must be positive"),
    ],
)
def test_config_refuses_what_a_consumer_refuses(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConsumerConfig(queue="q", group="g", **options)
    with pytest.raises(ValueError, match=message):
        queues.Consumer("q", "g", print, "redis://localhost:1", **options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"claim_idle": 0}, "claim_idle must be positive"),
        ({"backoff_jitter": 1.5}, "backoff_jitter"),
        ({"ack_interval": 0}, "ack_interval must be positive"),
        ({"name": "__retry__"}, "reserved"),
    ],
)
def test_the_asyncio_consumer_runs_the_same_checks(options: dict, message: str) -> None:
    async def build() -> None:
        queues.aio.Consumer("q", "g", print, "redis://localhost:1", **options)

    with pytest.raises(ValueError, match=message):
        asyncio.run(build())


def test_block_for_wakes_for_the_claim_scan_and_due_tickets() -> None:
    assert timing.block_for(1000, 100.0, claim_at=200.0, due_at=None) == 1000
    assert timing.block_for(1000, 100.0, claim_at=100.25, due_at=None) == 250
    assert timing.block_for(1000, 100.0, claim_at=200.0, due_at=100.125) == 135
    assert timing.block_for(1000, 100.0, claim_at=99.0, due_at=None) is None


def test_capped_block_ms_stays_below_the_socket_timeout() -> None:
    assert timing.capped_block_ms(5000, 2.0) == 1500
    assert timing.capped_block_ms(5000, None) == 5000
    assert timing.capped_block_ms(5000, 0.1) == 10


def test_mover_wait() -> None:
    assert timing.mover_wait(100, 5.0, move_batch=100, move_interval=0.2) == 0.0
    assert timing.mover_wait(3, None, move_batch=100, move_interval=0.2) == 0.2
    assert timing.mover_wait(3, 0.05, move_batch=100, move_interval=0.2) == 0.05
