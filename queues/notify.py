"""Completion notifications, producer side: a per-producer reply stream and its listener.

``publish(..., notify=True)`` tags the entry with the producer id and a token; the consumer
that settles it writes ``done`` or ``dead`` to ``sw:{Q}:reply:<producer id>`` (notify.lua),
but only while the producer's heartbeat key lives. One listener thread per producer reads
the reply stream, wakes the matching :class:`Published` handle and calls subscribers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from queues.connection import UNAVAILABLE_ERRORS
from queues.entries import text
from queues.keys import QueueKeys
from queues.types import Completion

log = logging.getLogger(__name__)

Subscriber = Callable[[Completion], object]


class Published(str):
    """The id ``publish(..., notify=True)`` returns, with a way to wait for the outcome."""

    token: str
    _listener: ReplyListener

    def __new__(cls, value: str, token: str, listener: ReplyListener) -> Published:
        self = super().__new__(cls, value)
        self.token = token
        self._listener = listener
        return self

    def wait(self, timeout: float | None = None) -> Completion | None:
        """The completion (status ``done`` or ``dead``), or None after ``timeout`` s."""
        return self._listener.wait(self.token, timeout)


class ReplyListener:
    """Reads one producer's reply stream in a thread; keeps its heartbeat key alive."""

    def __init__(self, client: Any, keys: QueueKeys, producer_id: str, ttl: float) -> None:
        self.client = client
        self.reply_key = keys.reply(producer_id)
        self.alive_key = keys.producer_alive(producer_id)
        self.ttl_ms = max(100, int(ttl * 1000))
        self._cond = threading.Condition()
        self._results: dict[str, Completion] = {}
        self._subscribers: list[Subscriber] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_id = "0"

    def start(self) -> None:
        """Set the heartbeat key (before any message names this producer) and listen."""
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self.client.set(self.alive_key, "1", px=self.ttl_ms)
            self._stop.clear()
            self._thread = threading.Thread(target=self._main, name="sw-replies", daemon=True)
            self._thread.start()

    def subscribe(self, callback: Subscriber) -> None:
        with self._cond:
            self._subscribers.append(callback)

    def wait(self, token: str, timeout: float | None) -> Completion | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while token not in self._results:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(0.5 if remaining is None else min(0.5, remaining))
            return self._results.pop(token)

    def _main(self) -> None:
        next_beat = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_beat:
                    self.client.set(self.alive_key, "1", px=self.ttl_ms)
                    next_beat = time.monotonic() + self.ttl_ms / 3000
                block = max(10, min(1000, self.ttl_ms // 3))
                reply: Any = self.client.xread({self.reply_key: self._last_id}, block=block)
                for _stream, rows in reply or []:
                    self._deliver(rows)
            except UNAVAILABLE_ERRORS as exc:
                log.debug("reply listener: Redis unavailable: %s", exc)
                self._stop.wait(0.5)
            except Exception:
                log.exception("reply listener failed")
                self._stop.wait(0.5)

    def _deliver(self, rows: list[Any]) -> None:
        done = []
        for row_id, fields in rows:
            done.append(completion_of(fields))
            self._last_id = text(row_id)
        if rows:
            self.client.xdel(self.reply_key, *[row_id for row_id, _ in rows])
        with self._cond:
            for completion in done:
                self._results[completion.token] = completion
            subscribers = list(self._subscribers)
            self._cond.notify_all()
        for completion in done:
            for callback in subscribers:
                try:
                    callback(completion)
                except Exception:
                    log.exception("completion subscriber %r failed", callback)

    def close(self) -> None:
        """Stop listening; delete the reply stream and the heartbeat key."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.client.delete(self.reply_key, self.alive_key)
        except redis.RedisError as exc:
            log.warning("could not delete reply stream %s: %s", self.reply_key, exc)


def completion_of(fields: Any) -> Completion:
    """A Completion from the fields of a reply-stream entry (as notify.lua writes them)."""
    f = {text(k): text(v) for k, v in fields.items()}
    return Completion(
        id=f.get("id", ""),
        status=f.get("status", ""),
        error=f.get("error") or None,
        token=f.get("token", ""),
    )
