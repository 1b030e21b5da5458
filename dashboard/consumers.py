"""Websocket consumers: transport adapters that relay monitor updates to browsers."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

LIVE_GROUP = "streamwarden.live"


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Joins the live group; one handler per event type, each only sends JSON."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Closing before accept rejects the handshake (HTTP 403).
            await self.close()
            return
        await self.channel_layer.group_add(LIVE_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(LIVE_GROUP, self.channel_name)

    async def queue_update(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "queue.update", "data": event["data"]})

    async def monitor_status(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "monitor.status", "data": event["data"]})

    async def alert_update(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "alert.update", "data": event["data"]})

    async def alerts_update(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "alerts.update", "data": event["data"]})
