"""Priorities of the asyncio consumer, as queues.Consumer's: one Engine per level (its own
stream, claims, retries and delayed moves), read higher levels first each turn, with a
guaranteed weighted share (level L weighs 2**L) and the spare room going to the highest
level that has more, so that low levels slow down but never starve. The engines share the
handler slots: ``concurrency`` handlers run at once across all levels, and with
``concurrency=1`` a turn's batches are handled, in the order read, before the next turn."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import redis

from queues import commands
from queues.backoff import Backoff
from queues.commands import Delivery
from queues.connection import UNAVAILABLE_ERRORS
from queues.consumer import timing
from queues.entries import text
from queues.exceptions import GroupLost, QueueUnavailable

from .handling import log

if TYPE_CHECKING:
    from . import Consumer


async def run(c: Consumer, burst: bool) -> None:
    engines = c._engines  # highest level first
    backoff = Backoff(base=0.1, cap=2.0)
    weights = [2**engine.level for engine in engines]
    total = sum(weights)
    if burst:
        for engine in engines:
            engine._claims.rescan_now()
    while not c._stop.is_set():
        try:
            for engine in engines:
                if not engine._ready:
                    await engine.start_up()
            if c.concurrency == 1:
                for engine in engines:  # the batches in hand first, as the sync loop does
                    await engine.wait_idle(None)
            batch = c.batch_size
            shares = [max(1, batch * w // total) for w in weights]
            found = 0
            for engine in engines:
                if burst:
                    found += (await engine.move_due())[0]
                if engine._rescan:
                    engine._rescan = False
                    engine._claims.rescan_now()
                if engine._claims.due(time.monotonic()):
                    found += await engine.claim(await engine.wait_free(1))
            room = batch
            for engine, share in zip(engines, shares, strict=True):
                got = await engine.read(min(share, await engine.wait_free(1)), None)
                found += got
                room -= got
            for engine in engines:  # spare room: the highest level with more first
                if room <= 0:
                    break
                got = await engine.read(min(room, await engine.wait_free(1)), None)
                found += got
                room -= got
            if found == 0:
                if burst:
                    for engine in engines:
                        await engine.wait_idle(None)
                        await engine.flush_acks()
                    return
                await _block_on_all_levels(c)
            backoff.reset()
        except GroupLost:
            raise
        except redis.ResponseError as exc:
            if "NOGROUP" in str(exc):
                for engine in engines:
                    engine._ready = False
                continue
            if burst:
                raise
            log.exception("consumer %s: unexpected Redis error", c.name)
            await c._sleep(backoff.next())
        except UNAVAILABLE_ERRORS as exc:
            if burst:
                raise QueueUnavailable(c.address, str(exc)) from exc
            log.warning("consumer %s: Redis at %s unavailable (%s)", c.name, c.address, exc)
            await c._sleep(backoff.next())


async def _block_on_all_levels(c: Consumer) -> None:
    """Nothing anywhere: one blocking XREADGROUP over every level's stream."""
    now = time.monotonic()
    limits = [
        timing.block_for(c.block_ms, now, claim_at=e._claims.next_at, due_at=e._next_due_at)
        for e in c._engines
    ]
    if None in limits:
        return
    limit = min(limit for limit in limits if limit is not None)
    by_stream = {engine.keys.stream: engine for engine in c._engines}
    reply: Any = await c.client.xreadgroup(
        c.group, c.name, dict.fromkeys(by_stream, ">"), count=1, block=int(limit)
    )
    for stream, rows in reply or []:
        engine = by_stream[text(stream)]
        deliveries = [Delivery(text(i), f or {}, 1) for i, f in rows]
        engine._last_read = commands.newest_read(engine._last_read, deliveries)
        engine.dispatch(deliveries)
