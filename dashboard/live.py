"""Publish live updates to every connected browser (the LIVE_GROUP of dashboard.consumers)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from dashboard.consumers import LIVE_GROUP, session_group, user_group

log = logging.getLogger(__name__)

#: Seconds closing sockets may take before it is given up (logged).
CLOSE_TIMEOUT = 2.0

TYPES = {"queue.update", "monitor.status", "alert.update", "alerts.update", "audit.update"}


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
        async_to_sync(layer.group_send)(LIVE_GROUP, {"type": type, "data": data})
    except Exception as exc:  # noqa: BLE001 - channel layer errors vary by backend
        log.warning("live publish of %s failed: %s", type, exc)
        return False
    return True
