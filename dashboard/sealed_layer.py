"""The channel layer's messages are sealed, so a client of the shared Redis cannot forge them.

The channel layer keeps its queues in the Redis the dashboard watches, where every producer
can write. Unsealed, anyone who can ``LPUSH`` there could put a made-up alert or queue update
in every operator's browser. Each message is encrypted and authenticated (Fernet, a key derived
from ``SECRET_KEY``) by channels-redis' own serializer; what fails to open — forged, corrupt,
expired — is turned into a ``sw.forged`` event that the websocket consumer drops (and counts),
instead of an exception that would close every operator's socket.

Every process that talks on the layer (web, monitor, notifier) must share ``SECRET_KEY``:
``manage.py serve`` gives its processes one, and production settings require it.

A big message (the monitor's push of 10 000 changed queues: 20 MB of msgpack) is compressed
before it is sealed (zlib level 1: a ninth of the size, and sealing a ninth costs a ninth),
and a group send packs and compresses it once for all the channels it goes to, not once per
open socket (``SealedRedisChannelLayer``). Only the channel list, which differs per channel,
is packed per channel, under the same seal. Compression before encryption lets the size of a
sealed message tell how compressible it was; only messages over ``COMPRESS_FROM`` (queue
figures read from that same Redis) are compressed, not the small alert and audit events.
"""

from __future__ import annotations

import contextvars
import logging
import struct
import zlib
from typing import Any

import msgpack
from channels_redis.core import RedisChannelLayer
from channels_redis.serializers import MsgPackSerializer, registry

log = logging.getLogger(__name__)

FORMAT = "streamwarden-sealed"
#: The event a message that could not be opened becomes (handled by ``sw_forged``).
FORGED = {"type": "sw.forged"}
#: Packed messages from this many bytes are compressed before they are sealed.
COMPRESS_FROM = 64 * 1024
# First byte of a compressed message: 0xc1 is never used by msgpack, so a plain packed
# message (a map: 0x80-0x8f, 0xde, 0xdf) cannot start with it.
_COMPRESSED = b"\xc1"
_CHANNELS = "__asgi_channel__"  # the one key channels_redis sets per channel
# Within one group send: the packed and compressed body of its message, by identity.
_ONCE: contextvars.ContextVar[dict[Any, bytes] | None] = contextvars.ContextVar(
    "sealed_layer_once", default=None
)


class SealedSerializer(MsgPackSerializer):
    """msgpack (compressed when big) + Fernet; a message that does not open becomes
    ``FORGED``, never an error."""

    def as_bytes(self, message: dict[str, Any]) -> bytes:  # type: ignore[override]
        if self.crypter is None:
            return msgpack.packb(message)  # type: ignore[no-any-return]  # unsealed: as is
        body = {k: v for k, v in message.items() if k != _CHANNELS}
        once = _ONCE.get()
        key = tuple((k, id(v)) for k, v in body.items())  # alive for the whole group send
        deflated = None if once is None else once.get(key)
        if deflated is None:
            packed = msgpack.packb(body)
            if len(packed) < COMPRESS_FROM:
                return msgpack.packb(message)  # type: ignore[no-any-return]
            deflated = zlib.compress(packed, 1)
            if once is not None:
                once[key] = deflated
        # The channels (when set), then the body: [0xc1][length of channels][channels][body]
        channels = msgpack.packb(message.get(_CHANNELS))
        return b"".join((_COMPRESSED, struct.pack(">I", len(channels)), channels, deflated))

    def from_bytes(self, data: bytes) -> Any:  # type: ignore[override]
        if data[:1] != _COMPRESSED:
            return msgpack.unpackb(data)
        if self.crypter is None:  # only what the seal vouches for is decompressed
            raise ValueError("a compressed channel-layer message that is not sealed")
        (size,) = struct.unpack(">I", data[1:5])
        channels = msgpack.unpackb(data[5 : 5 + size])
        message = msgpack.unpackb(zlib.decompress(data[5 + size :]))
        if channels is not None and isinstance(message, dict):
            message[_CHANNELS] = channels
        return message

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


class SealedRedisChannelLayer(RedisChannelLayer):  # type: ignore[misc]
    """channels-redis' layer, whose group sends pack and compress a big message once for
    all the group's channels (with ``SealedSerializer``)."""

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        token = _ONCE.set({})
        try:
            await super().group_send(group, message)
        finally:
            _ONCE.reset(token)


def layer_settings(redis_url: str, secret_key: str, *, prefix: str = "sw-channels") -> dict:
    """``CHANNEL_LAYERS`` for a channels-redis layer on ``redis_url`` with sealed messages."""
    return {
        "default": {
            "BACKEND": "dashboard.sealed_layer.SealedRedisChannelLayer",
            "CONFIG": {
                "hosts": [redis_url],
                "prefix": prefix,
                "serializer_format": FORMAT,
                # A key of its own, derived from SECRET_KEY (Fernet hashes it again).
                "symmetric_encryption_keys": [f"streamwarden.channel-layer:{secret_key}"],
            },
        }
    }
