"""What one publish sends: XADD or a script, pipelined with WAIT when durable (retried after a
failover), the queue's registration and the periodic safe trim.

queues/aio/publishing/writes.py is the source of both twins: queues/publishing/writes.py is
made from it by unasync (``python -m tests.support.unasync_twins``; a test fails when it is
stale).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import redis
from redis import asyncio as aioredis

from queues import commands, entries
from queues import trim as trim_mod
from queues.connection import unavailable_as_error
from queues.entries import text
from queues.exceptions import NotDurable, TrimRefused
from queues.keys import REGISTRY, QueueKeys
from queues.publishing.plan import PIPELINE_CHUNK, demoted
from queues.scripts import Scripts

log = logging.getLogger("queues.aio.producer")


class Writes:
    """The writes of queues.aio.Producer and (generated) queues.Producer; their buffer modes
    are built on them."""

    client: aioredis.Redis
    address: str
    queue: str
    priority: int
    keys: QueueKeys
    dedup_window_ms: int
    trim: bool
    maxlen: int | None
    trim_every: int
    durable: bool
    durable_replicas: int
    durable_timeout_ms: int
    _scripts: Scripts
    _registered: bool
    _published_since_trim: int
    _lock: threading.Lock

    async def _send_one(
        self, fields: entries.Fields, due: int | None, dedup_key: str | None
    ) -> str:
        with unavailable_as_error(self.address):
            try:
                await self._register()
                if due is not None:
                    return await self._schedule(fields, due, dedup_key)
                if dedup_key is not None:
                    _created, entry_id = await self._write(
                        lambda c: self._scripts.publish(
                            *commands.publish_dedup_call(
                                self.keys, fields, dedup_key, self.dedup_window_ms
                            ),
                            client=c,
                        )
                    )
                    return text(entry_id)
                entry_id = text(await self._write(lambda c: c.xadd(self.keys.stream, fields)))
            except redis.ConnectionError:
                self._registered = False  # a restarted server may have lost the registry
                raise
        await self._after_publish(1)
        return entry_id

    async def _send_many(self, encoded: list[entries.Fields]) -> list[str]:
        ids: list[str] = []
        with unavailable_as_error(self.address):
            try:
                await self._register()
                for start in range(0, len(encoded), PIPELINE_CHUNK):
                    pipe = self.client.pipeline(transaction=False)
                    for fields in encoded[start : start + PIPELINE_CHUNK]:
                        pipe.xadd(self.keys.stream, fields)  # type: ignore[arg-type]
                    if self.durable:
                        pipe.wait(self.durable_replicas, self.durable_timeout_ms)
                    replies = await pipe.execute()
                    if self.durable:
                        self._check_durable([text(i) for i in replies[:-1]], replies[-1])
                        replies = replies[:-1]
                    ids.extend(text(i) for i in replies)
            except redis.ConnectionError:
                self._registered = False
                raise
        await self._after_publish(len(ids))
        return ids

    async def _schedule(self, fields: entries.Fields, due: int, dedup_key: str | None) -> str:
        keys, args = commands.schedule_call(self.keys, fields, due, dedup_key, self.dedup_window_ms)
        _created, result = await self._write(
            lambda c: self._scripts.schedule(keys=keys, args=args, client=c)
        )
        return text(result)

    async def _write(self, command: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run one write on the client; when durable, pipelined with WAIT on the same
        connection (WAIT counts the replicas that have this connection's writes)."""
        if not self.durable:
            return await command(self.client)
        for attempt in (1, 2, 3):
            pipe = self.client.pipeline(transaction=False)
            await command(pipe)  # queues the command on the pipeline
            pipe.wait(self.durable_replicas, self.durable_timeout_ms)
            try:
                result, acked = await pipe.execute()
                break
            except redis.exceptions.NoScriptError:
                # re-sent after a failover to a master without the script: it did not run,
                # so sending it again (the pipeline loads its scripts first) is safe
                if attempt == 3:
                    raise
            except redis.ResponseError as exc:
                # The master was demoted to a replica under us (SENTINEL FAILOVER): the write
                # was refused, or it is discarded when the old master resyncs from the new
                # one. Drop the idle connections to it and write again on the new master.
                if attempt == 3 or not demoted(exc):
                    raise
                # (always a single-server client: durable is refused on a cluster)
                if isinstance(self.client, aioredis.Redis):
                    await self.client.connection_pool.disconnect(inuse_connections=False)
        entry = result[1] if isinstance(result, list) else result
        self._check_durable([text(entry)], acked)
        return result

    def _check_durable(self, ids: list[str], acked: Any) -> None:
        if int(acked) < self.durable_replicas:
            raise NotDurable(ids, int(acked), self.durable_replicas, self.durable_timeout_ms)

    async def _register(self) -> None:
        if not self._registered:
            await self.client.sadd(REGISTRY, self.queue)  # type: ignore[misc]
            if self.priority:
                # so that Manager.info counts this level even before any consumer reads it
                await self.client.sadd(self.keys.levels, self.priority)  # type: ignore[misc]
            self._registered = True

    async def _after_publish(self, count: int) -> None:
        if not self.trim:
            return
        with self._lock:
            self._published_since_trim += count
            if self._published_since_trim < self.trim_every:
                return
            self._published_since_trim = 0
        try:
            reply = await self._scripts.trim(
                keys=[self.keys.stream], args=trim_mod.args(True, self.maxlen)
            )
            trim_mod.parse_reply(self.queue, reply)
        except TrimRefused:
            pass  # no groups yet: nothing is known to be delivered, keep everything
        except redis.RedisError as exc:
            # the messages are published; a failed housekeeping trim must not say otherwise
            log.warning("trimming queue %r failed: %s", self.queue, exc)
