# Generated from queues/aio/publishing/publish.py by unasync: edit that file, then run
# `python -m tests.support.unasync_twins` (tests/queues/test_unasync_twins.py fails
# while this copy is stale).
"""The Producer's public publishes: one message (delayed, de-duplicated, with a completion
notification) or many, straight to Redis or into the buffer while Redis is away.

queues/aio/publishing/publish.py is the source of both twins: queues/publishing/publish.py
is made from it by unasync (``python -m tests.support.unasync_twins``; a test fails when it
is stale).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from queues import delayed, entries
from queues.connection import unavailable_as_error
from queues.exceptions import QueueUnavailable
from queues.notify import Published, ReplyListener
from queues.publishing.buffer import Buffering
from queues.publishing.plan import PIPELINE_CHUNK, Pending
from queues.serializers import Serializer
from queues.types import Completion


class Publishing(Buffering):
    """The publishes of queues.aio.Producer and (generated) queues.Producer."""

    serializer: Serializer
    producer_id: str
    reply_ttl: float
    on_unavailable: str
    _replies: ReplyListener | None
    _buffer_lock: threading.Condition

    def publish(
        self,
        payload: Any,
        *,
        headers: Mapping[str, Any] | None = None,
        delay: float | timedelta | None = None,
        at: datetime | float | None = None,
        dedup_key: str | None = None,
        notify: bool = False,
    ) -> str:
        """Publish one message; return its stream id, the ticket id of a delayed one, or
        ``"buffered:<uuid>"`` when buffer mode holds it.

        ``delay`` (seconds or timedelta) or ``at`` (datetime or epoch seconds) schedules it.
        With ``dedup_key``, a second publish with the same key within ``dedup_window``
        returns the first id and publishes nothing. With ``notify``, the id returned is a
        :class:`~queues.notify.Published` whose ``wait(timeout)`` (awaited on asyncio)
        returns how the message ended (a Completion: ``done`` or ``dead``);
        ``on_completion`` subscribes to all.
        """
        fields = entries.encode(payload, self.serializer, headers, int(time.time() * 1000))
        due = delayed.due_ms(delay, at)
        if notify:
            listener = self._reply_listener()
            token = uuid.uuid4().hex
            fields[entries.REPLY] = self.producer_id
            fields[entries.CORRELATION] = token
            return Published(self._publish_fields(fields, due, dedup_key), token, listener)
        return self._publish_fields(fields, due, dedup_key)

    def on_completion(self, callback: Callable[[Completion], object]) -> None:
        """Call ``callback(completion)`` (in the listener thread; on the event loop for
        asyncio) for every message this producer publishes with ``notify=True`` when it is
        done or dead-lettered."""
        (self._reply_listener()).subscribe(callback)

    def _reply_listener(self) -> ReplyListener:
        with self._lock:
            if self._replies is None:
                self._replies = ReplyListener(
                    self.client, self.keys, self.producer_id, self.reply_ttl
                )
        with unavailable_as_error(self.address):
            self._replies.start()
        return self._replies

    def _publish_fields(
        self, fields: entries.Fields, due: int | None, dedup_key: str | None
    ) -> str:
        if self.on_unavailable == "buffer":
            with self._buffer_lock:
                if self._buffer:  # keep order: queue up behind what is waiting
                    return self._hold([Pending(fields, due, dedup_key)])[0]
            try:
                return self._send_one(fields, due, dedup_key)
            except QueueUnavailable:
                with self._buffer_lock:
                    return self._hold([Pending(fields, due, dedup_key)])[0]
        return self._send_one(fields, due, dedup_key)

    def publish_many(
        self, payloads: Iterable[Any], *, headers: Mapping[str, Any] | None = None
    ) -> list[str]:
        """Publish many messages in pipelined round trips; return their ids in order.

        All payloads are serialised first, so a bad one raises before anything is sent. If
        Redis fails part-way, QueueUnavailable is raised; entries of earlier chunks are in,
        and some of the chunk that was cut off may be. It is not sent again, except in
        buffer mode, which holds the rest from the cut-off chunk on and flushes it later.
        """
        now = int(time.time() * 1000)
        encoded = [entries.encode(p, self.serializer, headers, now) for p in payloads]
        if self.on_unavailable != "buffer":
            return self._send_many(encoded)
        with self._buffer_lock:
            if self._buffer:
                return self._hold([Pending(f, None, None) for f in encoded])
        ids: list[str] = []
        try:
            for start in range(0, len(encoded), PIPELINE_CHUNK):
                ids.extend(self._send_many(encoded[start : start + PIPELINE_CHUNK]))
        except QueueUnavailable:
            with self._buffer_lock:
                ids.extend(self._hold([Pending(f, None, None) for f in encoded[len(ids) :]]))
        return ids
