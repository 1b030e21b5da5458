"""Live pushes cannot be forged by a client of the shared Redis.

The channel layer keeps its queues in the Redis that producers write to. A producer that
sends on the layer itself (same Redis, same prefix, no key) must not reach any browser, and
its junk must not close the sockets: a genuine push right after still arrives.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from channels_redis.core import RedisChannelLayer
from django.contrib.auth import get_user_model
from django.test import Client

from dashboard import live
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
