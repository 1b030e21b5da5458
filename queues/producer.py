"""Producer: publish messages to a queue's stream (or its delayed set), loudly or not at all."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import redis

from queues import delayed, entries
from queues import trim as trim_mod
from queues.connection import RedisLike, address, connect, is_cluster, unavailable_as_error
from queues.entries import text
from queues.exceptions import ConfigurationError, NotDurable, TrimRefused
from queues.keys import REGISTRY, queue_keys
from queues.scripts import Scripts
from queues.serializers import Serializer, resolve

PIPELINE_CHUNK = 1_000

log = logging.getLogger(__name__)


class Producer:
    """Publishes to one queue. Thread-safe (redis-py clients are).

    Every method either returns ids of entries that are in Redis or raises
    (QueueUnavailable within a few seconds when Redis cannot be reached); nothing is
    reported published that Redis did not accept.
    """

    def __init__(
        self,
        queue: str,
        redis: RedisLike,
        *,
        serializer: Serializer | None = None,
        dedup_window: float = 3600.0,
        trim: bool = False,
        trim_every: int = 1_000,
        maxlen: int | None = None,
        durable: bool = False,
        durable_replicas: int = 1,
        durable_timeout: float = 1.0,
    ) -> None:
        self.queue = queue
        self.keys = queue_keys(queue)
        self.client = connect(redis)
        self._owns_client = self.client is not redis
        self.address = address(self.client)
        self.serializer = resolve(serializer)
        self.dedup_window_ms = int(dedup_window * 1000)
        if self.dedup_window_ms <= 0:
            raise ValueError("dedup_window must be positive")
        #: Trim safely every ``trim_every`` publishes (on when ``maxlen`` is given): only
        #: entries all groups have acknowledged go, keeping at least ``maxlen`` entries.
        self.trim = trim or maxlen is not None
        self.maxlen = maxlen
        trim_mod.args(True, maxlen)  # validate now rather than on the thousandth publish
        self.trim_every = max(1, int(trim_every))
        #: Durable publish: after each write, WAIT until ``durable_replicas`` replicas have
        #: it (at most ``durable_timeout`` s), else raise NotDurable. Not on a cluster: WAIT
        #: must follow the write on the same connection, which a cluster client cannot pin.
        self.durable = durable
        self.durable_replicas = durable_replicas
        self.durable_timeout_ms = int(durable_timeout * 1000)
        if durable and (durable_replicas < 1 or self.durable_timeout_ms < 1):
            raise ValueError("durable publish needs durable_replicas >= 1 and a timeout")
        if durable and is_cluster(self.client):
            raise ConfigurationError("durable=True is not supported on a Redis Cluster client")
        self._scripts = Scripts(self.client)
        self._registered = False
        self._published_since_trim = 0
        self._lock = threading.Lock()

    def publish(
        self,
        payload: Any,
        *,
        headers: Mapping[str, Any] | None = None,
        delay: float | timedelta | None = None,
        at: datetime | float | None = None,
        dedup_key: str | None = None,
    ) -> str:
        """Publish one message; return its stream id, or the ticket id of a delayed one.

        ``delay`` (seconds or timedelta) or ``at`` (datetime or epoch seconds) schedules it.
        With ``dedup_key``, a second publish with the same key within ``dedup_window``
        returns the first id and publishes nothing.
        """
        fields = entries.encode(payload, self.serializer, headers, int(time.time() * 1000))
        due = delayed.due_ms(delay, at)
        with unavailable_as_error(self.address):
            try:
                self._register()
                if due is not None:
                    return self._schedule(fields, due, dedup_key)
                if dedup_key is not None:
                    _created, entry_id = self._write(
                        lambda c: self._scripts.publish(
                            keys=[self.keys.stream, self.keys.dedup(dedup_key)],
                            args=[self.dedup_window_ms, *_flatten(fields)],
                            client=c,
                        )
                    )
                    return text(entry_id)
                entry_id = text(self._write(lambda c: c.xadd(self.keys.stream, fields)))
            except redis.ConnectionError:
                self._registered = False  # a restarted server may have lost the registry
                raise
        self._after_publish(1)
        return entry_id

    def publish_many(
        self, payloads: Iterable[Any], *, headers: Mapping[str, Any] | None = None
    ) -> list[str]:
        """Publish many messages in pipelined round trips; return their ids in order.

        All payloads are serialised first, so a bad one raises before anything is sent. If
        Redis fails part-way, QueueUnavailable is raised; entries of earlier chunks are in.
        """
        now = int(time.time() * 1000)
        encoded = [entries.encode(p, self.serializer, headers, now) for p in payloads]
        ids: list[str] = []
        with unavailable_as_error(self.address):
            try:
                self._register()
                for start in range(0, len(encoded), PIPELINE_CHUNK):
                    pipe = self.client.pipeline(transaction=False)
                    for fields in encoded[start : start + PIPELINE_CHUNK]:
                        pipe.xadd(self.keys.stream, fields)  # type: ignore[arg-type]
                    if self.durable:
                        pipe.wait(self.durable_replicas, self.durable_timeout_ms)
                    replies = pipe.execute()
                    if self.durable:
                        self._check_durable([text(i) for i in replies[:-1]], replies[-1])
                        replies = replies[:-1]
                    ids.extend(text(i) for i in replies)
            except redis.ConnectionError:
                self._registered = False
                raise
        self._after_publish(len(ids))
        return ids

    def _schedule(self, fields: entries.Fields, due: int, dedup_key: str | None) -> str:
        ticket_id = uuid.uuid4().hex
        marker = self.keys.dedup(dedup_key if dedup_key is not None else ticket_id)
        _created, result = self._write(
            lambda c: self._scripts.schedule(
                keys=[self.keys.delayed, marker],
                args=[
                    due,
                    delayed.message_ticket(fields, ticket_id),
                    ticket_id,
                    self.dedup_window_ms if dedup_key is not None else 0,
                ],
                client=c,
            )
        )
        return text(result)

    def _write(self, command: Callable[[Any], Any]) -> Any:
        """Run one write on the client; when durable, pipelined with WAIT on the same
        connection (WAIT counts the replicas that have this connection's writes)."""
        if not self.durable:
            return command(self.client)
        for attempt in (1, 2):
            pipe = self.client.pipeline(transaction=False)
            command(pipe)
            pipe.wait(self.durable_replicas, self.durable_timeout_ms)
            try:
                result, acked = pipe.execute()
                break
            except redis.exceptions.NoScriptError:
                # re-sent after a failover to a master without the script: it did not run,
                # so sending it again (the pipeline loads its scripts first) is safe
                if attempt == 2:
                    raise
        entry = result[1] if isinstance(result, list) else result
        self._check_durable([text(entry)], acked)
        return result

    def _check_durable(self, ids: list[str], acked: Any) -> None:
        if int(acked) < self.durable_replicas:
            raise NotDurable(ids, int(acked), self.durable_replicas, self.durable_timeout_ms)

    def _register(self) -> None:
        if not self._registered:
            self.client.sadd(REGISTRY, self.queue)
            self._registered = True

    def _after_publish(self, count: int) -> None:
        if not self.trim:
            return
        with self._lock:
            self._published_since_trim += count
            if self._published_since_trim < self.trim_every:
                return
            self._published_since_trim = 0
        try:
            reply = self._scripts.trim(
                keys=[self.keys.stream], args=trim_mod.args(True, self.maxlen)
            )
            trim_mod.parse_reply(self.queue, reply)
        except TrimRefused:
            pass  # no groups yet: nothing is known to be delivered, keep everything
        except redis.RedisError as exc:
            # the messages are published; a failed housekeeping trim must not say otherwise
            log.warning("trimming queue %r failed: %s", self.queue, exc)

    def close(self) -> None:
        """Release the connections of a client the producer created from a URL."""
        if self._owns_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"<Producer {self.queue!r} at {self.address}>"


def _flatten(fields: entries.Fields) -> list[bytes | str]:
    out: list[bytes | str] = []
    for name, value in fields.items():
        out.extend((name, value))
    return out
