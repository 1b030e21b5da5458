"""Live pushes of alert changes to browsers, on the dashboard's live group: ``alert.update``
for one alert, ``alerts.update`` for many at once (one message, whatever their number)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from alerts.models import Alert
from alerts.selectors import alert_as_dict

logger = logging.getLogger(__name__)


#: Alerts carried by one ``alerts.update`` message at most (the newest): a storm of tens
#: of thousands would make a message no browser wants; pages reload the rest.
MAX_LIVE_ALERTS = 200


def _send(data: dict[str, Any], type: str = "alert.update") -> None:
    try:
        from dashboard.live import publish

        publish(type, data)
    except Exception:  # noqa: BLE001 - a live push is best effort, never an alerting failure
        logger.warning("could not publish %s", type, exc_info=True)


def publish_alert(alert: Alert) -> None:
    """Push the alert to live pages once the surrounding transaction commits."""
    data = alert_as_dict(alert)
    transaction.on_commit(lambda: _send(data))


def publish_alerts(alerts: list[Alert], *, count: int | None = None) -> None:
    """Push many alerts to live pages in ONE message once the transaction commits: the
    newest ``MAX_LIVE_ALERTS`` of them, with the total count (``truncated`` when more).
    ``count``: how many changed, when ``alerts`` holds only the newest of them."""
    total = len(alerts) if count is None else count
    if not alerts:
        return
    if total == 1:
        publish_alert(alerts[0])
        return
    newest = sorted(alerts, key=lambda a: a.pk or 0)[-MAX_LIVE_ALERTS:]
    data = {
        "alerts": [alert_as_dict(a) for a in newest],
        "count": total,
        "truncated": total > len(newest),
    }
    transaction.on_commit(lambda: _send(data, "alerts.update"))
