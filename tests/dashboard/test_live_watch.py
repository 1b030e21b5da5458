"""A page says which queues it shows, and its socket gets only their updates.

The monitor pushes every changed queue in one ``queue.update`` (28 MB of JSON for 10 000
changed queues); a page shows a page of rows, or one queue, or none. A socket that has
said ``{"watch": [names]}`` gets those of the push it watches and nothing when none of them
changed; one that has not said gets all. Whatever else a client sends is ignored, and the
socket goes on."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard import live
from tests.dashboard.test_websocket_sessions import logged_in_client, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


def push(*names: str) -> dict:
    data = {"queues": [{"name": n, "lag": 1} for n in names], "cost": {"ms": 1.0}}
    return data


async def next_queue_update(socket: WebsocketCommunicator) -> dict:
    """The next queue.update, skipping other live messages; a monitor.status published
    after the push marks the end: a queue.update not seen before it was not sent."""
    await sync_to_async(live.publish)("monitor.status", {"marker": True})
    updates = []
    while True:
        message = await socket.receive_json_from(timeout=10)
        if message["type"] == "monitor.status" and message["data"].get("marker"):
            return updates[0] if updates else {}
        if message["type"] == "queue.update":
            updates.append(message["data"])


async def test_a_socket_gets_the_queues_its_page_watches_and_nothing_else():
    client = await logged_in_client()
    overview, queue_page, other_page, silent = [await open_socket(client) for _ in range(4)]
    try:
        await overview.send_json_to({"watch": ["orders", "billing"]})
        await queue_page.send_json_to({"watch": ["orders"]})
        await other_page.send_json_to({"watch": []})

        await sync_to_async(live.publish)("queue.update", push("orders", "billing", "emails"))
        got = await next_queue_update(overview)
        assert [q["name"] for q in got["queues"]] == ["orders", "billing"]
        assert got["cost"] == {"ms": 1.0}
        assert [q["name"] for q in (await next_queue_update(queue_page))["queues"]] == ["orders"]
        assert await next_queue_update(other_page) == {}
        # a socket that has not said what it shows gets every queue
        got = await next_queue_update(silent)
        assert [q["name"] for q in got["queues"]] == ["orders", "billing", "emails"]

        await sync_to_async(live.publish)("queue.update", push("emails"))
        assert await next_queue_update(queue_page) == {}  # none of its queues changed
    finally:
        for socket in (overview, queue_page, other_page, silent):
            await socket.disconnect()


@pytest.mark.parametrize(
    "frame",
    [
        {"text_data": "not json"},
        {"bytes_data": b"\x00\xff"},
        {"text_data": json.dumps({"watch": "orders"})},  # not a list: ignored
        {"text_data": json.dumps({"watch": ["x" * 2000] * 3000})},  # too long: ignored
        {"text_data": json.dumps([1, 2, 3])},
    ],
)
async def test_anything_else_a_client_sends_is_ignored_and_the_socket_goes_on(frame):
    client = await logged_in_client()
    socket = await open_socket(client)
    try:
        await socket.send_json_to({"watch": ["orders"]})
        await socket.send_to(**frame)
        await sync_to_async(live.publish)("queue.update", push("orders", "emails"))
        got = await next_queue_update(socket)
        assert [q["name"] for q in got["queues"]] == ["orders"]  # as it said before
    finally:
        await socket.disconnect()
