"""Websocket consumers: transport adapters that relay monitor updates to browsers.

A socket lives no longer than its login: it joins a group of its session and one of its user,
so logging out, or deactivating the user, closes it at once (``dashboard.sessions``); and
before a push it re-checks, at most every ``STREAMWARDEN_WS_RECHECK`` seconds, that its
session still stands (a session deleted or expired without any signal).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string

from dashboard import conf

LIVE_GROUP = "streamwarden.live"
#: Close code sent when the login behind the socket ended (4000-4999: application codes).
CLOSE_SESSION_ENDED = 4401


def user_group(user_id: Any) -> str:
    """Group of every live socket of one user."""
    return f"streamwarden.user.{int(user_id)}"


def session_group(session_key: str) -> str:
    """Group of the live sockets of one session (hashed: group names are not secret)."""
    digest = hashlib.sha256(session_key.encode()).hexdigest()[:40]
    return f"streamwarden.session.{digest}"


def session_still_valid(session_key: str | None, user_id: Any) -> bool:
    """Whether ``session_key`` still logs in ``user_id``, read afresh from the session store."""
    if not session_key:
        return False
    store: SessionBase = import_string(f"{settings.SESSION_ENGINE}.SessionStore")(session_key)
    if str(store.get(SESSION_KEY, "")) != str(user_id):
        return False  # deleted, expired or flushed: a fresh store is empty then
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    return constant_time_compare(str(store.get(HASH_SESSION_KEY, "")), user.get_session_auth_hash())


#: Queue names one socket may ask for (a page shows fewer), and the longest name kept.
MAX_WATCHED = 1000
MAX_WATCHED_NAME = 1000
#: The longest message a page may send (longer ones are ignored unread).
MAX_MESSAGE = 2 * MAX_WATCHED * (MAX_WATCHED_NAME + 4)


def watched_names(content: Any) -> set[str] | None:
    """The queue names of a ``{"watch": [...]}`` message from the page; None when the
    message is not one (anything else a client sends is ignored, never an error)."""
    names = content.get("watch") if isinstance(content, dict) else None
    if not isinstance(names, list):
        return None
    return {n for n in names[:MAX_WATCHED] if isinstance(n, str) and len(n) <= MAX_WATCHED_NAME}


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Joins the live group; one handler per event type, each only sends JSON.

    A page says which queues it shows (``{"watch": [names]}``: the overview its rows, a
    queue page its queue, other pages none): its ``queue.update`` pushes then carry only
    those, and none when none of them changed. A monitor's push of 10 000 changed queues is
    28 MB of JSON; every page got all of it, and encoded it, each push. A socket that has
    not said gets every queue."""

    groups_joined: list[str]
    watching: set[str] | None = None

    async def connect(self) -> None:
        self.groups_joined = []
        self.ended = False
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Closing before accept rejects the handshake (HTTP 403).
            await self.close()
            return
        session = self.scope.get("session")
        self.session_key: str | None = getattr(session, "session_key", None)
        self.user_id = user.pk
        self.checked_at = time.monotonic()
        self.groups_joined = [LIVE_GROUP, user_group(user.pk)]
        if self.session_key:
            self.groups_joined.append(session_group(self.session_key))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _relay(self, type: str, data: Any) -> None:
        if self.ended:
            return  # closed; events already on their way are dropped until disconnect
        if time.monotonic() - self.checked_at >= conf.websocket_recheck():
            valid = await database_sync_to_async(session_still_valid)(
                self.session_key, self.user_id
            )
            if not valid:
                await self._end()
                return
            self.checked_at = time.monotonic()
        await self.send_json({"type": type, "data": data})

    async def session_end(self, event: dict[str, Any]) -> None:
        """The login behind this socket ended (logout, deactivation): stop streaming."""
        await self._end()

    async def _end(self) -> None:
        if not self.ended:
            self.ended = True
            await self.close(code=CLOSE_SESSION_ENDED)

    async def sw_forged(self, event: dict[str, Any]) -> None:
        """A channel-layer message that did not open (``dashboard.sealed_layer``): dropped."""

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """What a page sends: a JSON text frame, else ignored (a binary frame, text that is
        not JSON, or one too long closed the socket with an error before)."""
        if not text_data or len(text_data) > MAX_MESSAGE:
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        names = watched_names(content)
        if names is not None:
            self.watching = names

    async def queue_update(self, event: dict[str, Any]) -> None:
        data = event["data"]
        if self.watching is not None:
            queues = [q for q in data.get("queues") or () if q.get("name") in self.watching]
            if not queues:
                return
            data = {**data, "queues": queues}
        await self._relay("queue.update", data)

    async def monitor_status(self, event: dict[str, Any]) -> None:
        await self._relay("monitor.status", event["data"])

    async def alert_update(self, event: dict[str, Any]) -> None:
        await self._relay("alert.update", event["data"])

    async def alerts_update(self, event: dict[str, Any]) -> None:
        await self._relay("alerts.update", event["data"])

    async def audit_update(self, event: dict[str, Any]) -> None:
        await self._relay("audit.update", event["data"])
