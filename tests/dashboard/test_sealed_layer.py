"""Live pushes cannot be forged by a client of the shared Redis.

The channel layer keeps its queues in the Redis that producers write to. A producer that
sends on the layer itself (same Redis, same prefix, no key) must not reach any browser, and
its junk must not close the sockets: a genuine push right after still arrives.
"""

from __future__ import annotations

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from channels_redis.core import RedisChannelLayer
from django.contrib.auth import get_user_model
from django.test import Client

from dashboard import live, sealed_layer
from dashboard.asgi import application
from dashboard.consumers import LIVE_GROUP

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def logged_in_client() -> Client:
    user = get_user_model().objects.create_user("ops", password="pw-for-sealed-layer-1")
    client = Client()
    client.force_login(user)
    return client


async def test_a_forged_push_reaches_no_browser_and_closes_no_socket(django_redis, settings):
    client = await logged_in_client()
    socket = WebsocketCommunicator(
        application,
        "/ws/live/",
        headers=[
            (b"origin", b"http://127.0.0.1"),
            (b"host", b"127.0.0.1"),
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
        ],
    )
    connected, _ = await socket.connect()
    assert connected
    try:
        # What any client of that Redis can do: speak the layer's protocol without the key.
        config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
        forger = RedisChannelLayer(hosts=config["hosts"], prefix=config["prefix"])
        await forger.group_send(
            LIVE_GROUP,
            {"type": "alert.update", "data": {"id": 1, "title": "FORGED: all queues lost"}},
        )
        await forger.group_send(LIVE_GROUP, {"type": "session.end"})

        await sync_to_async(live.publish)("monitor.status", {"running": True})
        message = await socket.receive_json_from(timeout=10)
        assert message == {"type": "monitor.status", "data": {"running": True}}
        assert await socket.receive_nothing(timeout=0.5)
    finally:
        await socket.disconnect()


def _big_push(queues: int = 2000) -> dict:
    """A queue.update the size of a monitor's push of many changed queues."""
    rows = [
        {"name": f"q-{i:05d}", "lag": i, "status": "warn", "reason": f"lag {i} ≥ 10"}
        for i in range(queues)
    ]
    return {"type": "queue.update", "data": {"queues": rows, "cost": {"commands": 3}}}


async def test_a_big_push_reaches_every_channel_whole_packed_once_and_stored_compressed(
    django_redis, monkeypatch
):
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    # One Redis key each, as the channels of three web processes have.
    channels = [f"web-{n}.socket" for n in range(3)]
    for channel in channels:
        await layer.group_add("big", channel)
    packs = []
    real_packb = sealed_layer.msgpack.packb

    def counting_packb(value, *args, **kwargs):
        packs.append(len(value) if isinstance(value, dict) else 0)
        return real_packb(value, *args, **kwargs)

    monkeypatch.setattr(sealed_layer.msgpack, "packb", counting_packb)
    message = _big_push()
    plain = len(real_packb(message))
    assert plain > sealed_layer.COMPRESS_FROM

    await layer.group_send("big", message)

    # The body (type and data: two keys) was packed once; per key only its channel list.
    assert packs.count(2) == 1
    client = redis.Redis.from_url(django_redis)
    stored = [
        member
        for key in client.keys("sw-test*")
        if client.type(key) == b"zset" and b"group" not in key
        for member in client.zrange(key, 0, -1)
    ]
    assert len(stored) == len(channels)
    assert all(len(m) < plain / 4 and b"q-00001" not in m for m in stored)  # compressed, sealed
    for channel in channels:
        assert await layer.receive(channel) == message


async def test_a_tampered_compressed_push_is_dropped_as_forged(django_redis):
    from channels.layers import get_channel_layer

    serializer = get_channel_layer()._serializer
    sealed = serializer.serialize({**_big_push(), "__asgi_channel__": ["specific.a!b"]})
    opened = serializer.deserialize(sealed)
    assert opened["data"] == _big_push()["data"]
    assert opened["__asgi_channel__"] == ["specific.a!b"]
    tampered = sealed[:-10] + bytes(10)
    assert serializer.deserialize(tampered) == sealed_layer.FORGED


async def test_a_message_sealed_before_compression_still_opens(django_redis, settings):
    from channels.layers import get_channel_layer
    from channels_redis.serializers import MsgPackSerializer

    now = get_channel_layer()._serializer
    # How messages were sealed before: the same key and random prefix, msgpack as is.
    before = MsgPackSerializer(
        symmetric_encryption_keys=settings.CHANNEL_LAYERS["default"]["CONFIG"][
            "symmetric_encryption_keys"
        ],
        random_prefix_length=now.random_prefix_length,
    )
    message = _big_push()
    assert now.deserialize(before.serialize(message)) == message
