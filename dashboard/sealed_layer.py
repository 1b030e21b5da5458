"""The channel layer's messages are sealed, so a client of the shared Redis cannot forge them.

The channel layer keeps its queues in the Redis the dashboard watches, where every producer
can write. Unsealed, anyone who can ``LPUSH`` there could put a made-up alert or queue update
in every operator's browser. Each message is encrypted and authenticated (Fernet, a key derived
from ``SECRET_KEY``) by channels-redis' own serializer; what fails to open — forged, corrupt,
expired — is turned into a ``sw.forged`` event that the websocket consumer drops (and counts),
instead of an exception that would close every operator's socket.

Every process that talks on the layer (web, monitor, notifier) must share ``SECRET_KEY``:
``manage.py serve`` gives its processes one, and production settings require it.
"""

from __future__ import annotations

import logging
from typing import Any

from channels_redis.serializers import MsgPackSerializer, registry

log = logging.getLogger(__name__)

FORMAT = "streamwarden-sealed"
#: The event a message that could not be opened becomes (handled by ``sw_forged``).
FORGED = {"type": "sw.forged"}


class SealedSerializer(MsgPackSerializer):
    """msgpack + Fernet; a message that does not open becomes ``FORGED``, never an error."""

    def deserialize(self, message: bytes) -> Any:
        try:
            opened = super().deserialize(message)
        except Exception:  # forged, corrupt or expired: any failure is the sender's
            log.warning("dropped a channel-layer message that does not open (forged or stale)")
            return dict(FORGED)
        if not isinstance(opened, dict) or not isinstance(opened.get("type"), str):
            return dict(FORGED)
        return opened


registry.register_serializer(FORMAT, SealedSerializer)


def layer_settings(redis_url: str, secret_key: str, *, prefix: str = "sw-channels") -> dict:
    """``CHANNEL_LAYERS`` for a channels-redis layer on ``redis_url`` with sealed messages."""
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [redis_url],
                "prefix": prefix,
                "serializer_format": FORMAT,
                # A key of its own, derived from SECRET_KEY (Fernet hashes it again).
                "symmetric_encryption_keys": [f"streamwarden.channel-layer:{secret_key}"],
            },
        }
    }
