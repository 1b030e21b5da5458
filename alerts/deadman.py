"""The dead man's switch: ``monitor_down`` when no monitor has completed a cycle lately.

Checked by the notifier (``manage.py notifier``), a process other than the monitor, from
what the monitors record in the database (``MonitorState.last_cycle_at``, written at the end
of every completed cycle): a monitor that died, hangs, or stands by forever because no
monitor holds the lease cannot report its own death. Resolved by the notifier, or by the
first monitor cycle that completes.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from alerts.services import set_monitor_alive
from dashboard import conf as dashboard_conf

logger = logging.getLogger(__name__)


def check_monitor(*, now: datetime | None = None) -> bool | None:
    """Open or resolve ``monitor_down``; returns whether a monitor is alive, or None when no
    monitor ever completed a cycle here (a dashboard whose monitor was never started)."""
    from dashboard.models import MonitorState

    state = MonitorState.objects.filter(key="monitor").first()
    if state is None or state.last_cycle_at is None:
        return None
    now = now or timezone.now()
    age = (now - state.last_cycle_at).total_seconds()
    window = dashboard_conf.monitor_down_after()
    alive = age <= window
    if not alive:
        logger.warning("no monitor has completed a cycle for %.0f s (limit %.0f s)", age, window)
    set_monitor_alive(
        alive=alive,
        detail=(
            f"No monitor has completed a cycle since {state.last_cycle_at.isoformat()} "
            f"({age:.0f} s, limit {window:.0f} s); the last one was {state.holder}."
        ),
    )
    return alive
