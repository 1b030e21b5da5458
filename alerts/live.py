"""Live pushes of alert changes to browsers (``alert.update`` on the dashboard's live group)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from alerts.models import Alert
from alerts.selectors import alert_as_dict

logger = logging.getLogger(__name__)


def _send(data: dict[str, Any]) -> None:
    try:
        from dashboard.live import publish

        publish("alert.update", data)
    except Exception:  # noqa: BLE001 - a live push is best effort, never an alerting failure
        logger.warning("could not publish alert.update", exc_info=True)


def publish_alert(alert: Alert) -> None:
    """Push the alert to live pages once the surrounding transaction commits."""
    data = alert_as_dict(alert)
    transaction.on_commit(lambda: _send(data))
