"""The one place the dashboard obtains a library Manager for a Redis URL."""

from __future__ import annotations

import logging
import threading

from dashboard import conf
from dashboard.monitor.counting import counting_client
from queues import Manager

log = logging.getLogger(__name__)
_lock = threading.Lock()
_managers: dict[tuple[str, float], Manager] = {}


def manager_for(url: str | None = None) -> Manager:
    """A cached Manager on a counting client (commands per poll are measured)."""
    url = url or conf.redis_url()
    active_idle = conf.active_idle()
    key = (url, active_idle)
    with _lock:
        manager = _managers.get(key)
        if manager is None:
            manager = Manager(counting_client(url), active_idle_ms=int(active_idle * 1000))
            _managers[key] = manager
        return manager


def reset_managers() -> None:
    """Forget cached managers (tests point REDIS_URL at fresh servers)."""
    with _lock:
        for manager in _managers.values():
            manager.client.close()
        _managers.clear()
