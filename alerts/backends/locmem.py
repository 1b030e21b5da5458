"""In-memory backend: keeps notifications in ``outbox`` instead of sending them.

For tests of *other* parts (the monitor, the pages) that need to see what would have been
sent — not for production: nothing leaves the process and the list grows without bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.backends.base import BaseBackend
from alerts.models import Notification

#: Every notification "sent" by any LocmemBackend channel in this process, oldest first.
outbox: list[LocmemMessage] = []


@dataclass(frozen=True)
class LocmemMessage:
    channel: str
    title: str
    payload: dict[str, Any]


class LocmemBackend(BaseBackend):
    """Appends to ``alerts.backends.locmem.outbox``; clear it between tests."""

    def build_message(self, notification: Notification) -> LocmemMessage:
        return LocmemMessage(
            channel=self.channel.name, title=notification.title, payload=dict(notification.payload)
        )

    def post(self, message: LocmemMessage) -> int | None:
        outbox.append(message)
        return None
