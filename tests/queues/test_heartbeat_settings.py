"""heartbeat_interval must leave held messages fresh: validated with a clear error."""

from __future__ import annotations

from typing import Any

import pytest

from queues import Consumer
from queues.aio import Consumer as AsyncConsumer


@pytest.mark.parametrize("cls", [Consumer, AsyncConsumer])
@pytest.mark.parametrize("interval", [2.0, 2.5, 3.0, 10.0, 0.0, -1.0])
def test_a_heartbeat_interval_from_two_thirds_of_claim_idle_up_is_refused(
    redis_url: str, cls: Any, interval: float
) -> None:
    # a read-ahead entry waits up to heartbeat_interval / 2 before the heartbeat takes it
    # in, then up to heartbeat_interval for its first refresh: 1.5 x heartbeat_interval
    with pytest.raises(ValueError, match="heartbeat_interval") as raised:
        cls("q", "g", print, redis_url, claim_idle=3.0, heartbeat_interval=interval)
    if interval > 0:
        assert "claim_idle" in str(raised.value)


@pytest.mark.parametrize("cls", [Consumer, AsyncConsumer])
def test_a_heartbeat_interval_below_two_thirds_of_claim_idle_is_accepted(
    redis_url: str, cls: Any
) -> None:
    consumer = cls("q", "g", print, redis_url, claim_idle=3.0, heartbeat_interval=1.9)
    assert consumer.heartbeat_interval == 1.9
    assert cls("q", "g", print, redis_url, claim_idle=3.0).heartbeat_interval == 1.0
