"""Alert changes are pushed to the live group the pages listen on (real Redis channel layer)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from alerts.services import alert_resolve, sync_status_alert
from dashboard.consumers import LIVE_GROUP


@pytest.mark.django_db(transaction=True)
async def test_opening_and_resolving_an_alert_is_pushed_as_alert_update() -> None:
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    await layer.group_add(LIVE_GROUP, channel)

    alert = await database_sync_to_async(sync_status_alert)(
        kind="threshold", queue="orders", group="g", status="alert", details={"lag": 5}
    )
    message = await layer.receive(channel)
    assert message["type"] == "alert.update"
    assert (message["data"]["id"], message["data"]["state"]) == (alert.pk, "open")  # type: ignore[union-attr]

    await database_sync_to_async(alert_resolve)(alert=alert, user=None)  # type: ignore[arg-type]
    message = await layer.receive(channel)
    if message["type"] == "audit.update":  # the resolution's audit entry, pushed too
        assert message["data"]["action"] == "alert.resolve"
        message = await layer.receive(channel)
    assert message["type"] == "alert.update"
    assert message["data"]["state"] == "resolved"
