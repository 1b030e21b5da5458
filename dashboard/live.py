"""Publish live updates to every connected browser (the LIVE_GROUP of dashboard.consumers)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from dashboard.consumers import LIVE_GROUP, session_group, user_group

log = logging.getLogger(__name__)

#: Seconds closing sockets may take before it is given up (logged).
CLOSE_TIMEOUT = 2.0

TYPES = {"queue.update", "monitor.status", "alert.update", "alerts.update", "audit.update"}
#: Seconds a push from a process's own loop (``own_loop``) may take before it is given up.
SEND_TIMEOUT = 10.0


class _OwnLoop:
    """An event loop in a daemon thread, for channel-layer sends from a process that has
    none (the monitor, the notifier). There ``async_to_sync`` ran each send in a new loop,
    and channels-redis keeps its connections per loop: every push opened new Redis
    connections and left them, their failed handshake probes and tracebacks, in reference
    cycles for the garbage collector (most of a monitor cycle's cyclic garbage)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="live-sends", daemon=True).start()

    def run(self, coroutine: Any, timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()  # a layer that does not answer: no pile of sends behind it
            raise

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


_own: _OwnLoop | None = None


def own_loop() -> None:
    """Send this process's live pushes from one event loop of its own (idempotent). For
    processes without an event loop of their own; the web's sync code reaches Daphne's."""
    global _own
    if _own is None:
        _own = _OwnLoop()


def close_own_loop() -> None:
    """Back to ``async_to_sync`` for each send (tests)."""
    global _own
    if _own is not None:
        _own.close()
        _own = None


def close_sockets(*, user_id: Any = None, session_key: str | None = None) -> bool:
    """Close the live sockets of a user (all sessions) or of one session; False (logged) if the
    channel layer is unreachable."""
    groups = []
    if user_id is not None:
        groups.append(user_group(user_id))
    if session_key:
        groups.append(session_group(session_key))
    layer = get_channel_layer()
    if layer is None or not groups:
        return False

    async def send_all() -> None:
        for group in groups:
            await layer.group_send(group, {"type": "session.end"})

    try:
        # Called from logout and user saves: a channel layer that does not answer must not
        # hold the request (the sockets then end at their next re-check).
        async_to_sync(asyncio.wait_for)(send_all(), CLOSE_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - channel layer errors vary by backend
        log.warning("closing live sockets failed: %s", exc)
        return False
    return True


def publish(type: str, data: dict[str, Any]) -> bool:
    """Send ``data`` as a ``type`` event to the live group; False (logged) if the channel
    layer is unreachable — a live push is never worth crashing the caller for."""
    if type not in TYPES:
        raise ValueError(f"unknown live event type {type!r}; expected one of {sorted(TYPES)}")
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        message = {"type": type, "data": data}
        if _own is not None:
            _own.run(layer.group_send(LIVE_GROUP, message), SEND_TIMEOUT)
        else:
            async_to_sync(layer.group_send)(LIVE_GROUP, message)
    except Exception as exc:  # noqa: BLE001 - channel layer errors vary by backend
        log.warning("live publish of %s failed: %s", type, exc)
        return False
    return True
