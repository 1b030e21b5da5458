"""A live websocket lives no longer than the login it was opened with.

Logging out closes the sockets of that session; deactivating (or deleting) a user closes all
of theirs; a session that ends any other way (deleted from the store, password changed
elsewhere) is noticed at the next push, which closes the socket instead of delivering.
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client

from dashboard import live
from dashboard.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "pw-for-websocket-tests-1"


@database_sync_to_async
def logged_in_client(username: str = "ops") -> Client:
    model = get_user_model()
    user = model.objects.filter(username=username).first() or model.objects.create_user(
        username, password=PASSWORD
    )
    client = Client()
    client.force_login(user)
    return client


async def open_socket(client: Client) -> WebsocketCommunicator:
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(
        application,
        "/ws/live/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie)],
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def closed(communicator: WebsocketCommunicator, timeout: float = 10) -> bool:
    """Whether the server closes the socket within ``timeout`` (other output is skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := deadline - loop.time()) > 0:
        try:
            output = await communicator.receive_output(timeout=left)
        except TimeoutError:
            return False
        if output["type"] == "websocket.close":
            return True
    return False


async def test_logging_out_closes_that_sessions_socket_and_no_other():
    client = await logged_in_client()
    other = await logged_in_client()  # the same user in another browser
    socket, other_socket = await open_socket(client), await open_socket(other)
    try:
        response = await sync_to_async(client.post)("/logout/")
        assert response.status_code == 302

        assert await closed(socket)
        # The other browser's socket still gets pushes.
        await sync_to_async(live.publish)("monitor.status", {"running": True})
        message = await other_socket.receive_json_from(timeout=10)
        assert message["type"] == "monitor.status"
    finally:
        await socket.disconnect()
        await other_socket.disconnect()


async def test_deactivating_a_user_closes_all_their_sockets():
    first, second = await logged_in_client(), await logged_in_client()
    sockets = [await open_socket(first), await open_socket(second)]
    try:
        user = await database_sync_to_async(get_user_model().objects.get)(username="ops")
        user.is_active = False
        await database_sync_to_async(user.save)()

        for socket in sockets:
            assert await closed(socket)
    finally:
        for socket in sockets:
            await socket.disconnect()


async def test_a_session_ended_without_a_signal_is_noticed_at_the_next_push(settings):
    settings.STREAMWARDEN_WS_RECHECK = 0  # re-check before every push
    client = await logged_in_client()
    socket = await open_socket(client)
    try:
        # E.g. an admin clears the session table, or the session expires: no signal is sent.
        await database_sync_to_async(Session.objects.all().delete)()

        await sync_to_async(live.publish)("monitor.status", {"running": True})

        assert await closed(socket)
    finally:
        await socket.disconnect()


async def test_a_live_session_keeps_getting_pushes(settings):
    settings.STREAMWARDEN_WS_RECHECK = 0
    socket = await open_socket(await logged_in_client())
    try:
        await sync_to_async(live.publish)("monitor.status", {"running": True})
        message = await socket.receive_json_from(timeout=10)
        assert message == {"type": "monitor.status", "data": {"running": True}}
    finally:
        await socket.disconnect()
