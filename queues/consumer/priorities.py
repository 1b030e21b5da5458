"""Priorities (``priorities=N``): one Engine per level (level L reads the stream of
priority L), driven by one loop. Each turn reads every level, higher levels first, with a
guaranteed weighted share (level L weighs 2**L) and spare capacity going to the highest
level that has more, so low levels slow down but never starve. When no level has anything,
one blocking XREADGROUP waits on all their streams at once.
"""

from __future__ import annotations

import time
from typing import Any

from queues import commands
from queues.consumer import timing
from queues.consumer.engine import Engine
from queues.consumer.recovery import Recovery
from queues.entries import text


class PriorityLoop:
    def __init__(self, engines: list[Engine], recovery: Recovery) -> None:
        self.engines = engines  # highest level first
        self.recovery = recovery
        self.top = engines[-1]  # level 0: the batch size, the client, the names

    def run(self, burst: bool) -> None:
        weights = [2**engine.level for engine in self.engines]
        total = sum(weights)
        shares = [max(1, self.top.batch_size * w // total) for w in weights]
        if burst:
            for engine in self.engines:
                engine.claims.rescan_now()
        self.recovery.run(lambda: self._turn(shares, burst), on_nogroup=self._lost_group)

    def _lost_group(self) -> None:
        for engine in self.engines:
            engine.lost_group()

    def _turn(self, shares: list[int], burst: bool) -> bool:
        engines = self.engines
        for engine in engines:
            if not engine.ready:
                engine.start_up()
        found = 0
        for engine in engines:
            if burst:
                found += engine.move_due()[0]
            engine.rescan_if_released()
            if engine.claims.due(time.monotonic()):
                found += engine.claim(engine.wait_free())
        room = self.top.batch_size
        for engine, share in zip(engines, shares, strict=True):
            got = engine.read(min(share, engine.wait_free()), None)
            found += got
            room -= got
        for engine in engines:  # spare room: highest level with more first
            if room <= 0:
                break
            got = engine.read(min(room, engine.wait_free()), None)
            found += got
            room -= got
        if found == 0:
            if burst:
                for engine in engines:
                    engine.wait_idle(None)
                    engine.acks.flush()
                return True
            self._block_on_all_levels()
        return False

    def _block_on_all_levels(self) -> None:
        """Nothing anywhere: one blocking XREADGROUP over every level's stream."""
        now = time.monotonic()
        limits = [
            timing.block_for(
                engine.block_ms, now, claim_at=engine.claims.next_at, due_at=engine.next_due_at
            )
            for engine in self.engines
        ]
        if None in limits:
            return
        limit = min(limit for limit in limits if limit is not None)
        top = self.top
        by_stream = {engine.keys.stream: engine for engine in self.engines}
        reply: Any = top.client.xreadgroup(
            top.group, top.name, dict.fromkeys(by_stream, ">"), count=1, block=limit
        )
        for stream, rows in reply or []:
            deliveries = [commands.Delivery(text(i), f or {}, 1) for i, f in rows]
            by_stream[text(stream)].deliver(deliveries)
