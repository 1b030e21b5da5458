"""Publish live updates to every connected browser (the LIVE_GROUP of dashboard.consumers)."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from dashboard.consumers import LIVE_GROUP

log = logging.getLogger(__name__)

TYPES = {"queue.update", "monitor.status", "alert.update", "alerts.update"}


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
