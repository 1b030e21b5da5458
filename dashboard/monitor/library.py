"""The one place the dashboard (pages, monitor, alert ingestion) obtains a library Manager
for a Redis URL: one cache of clients, emptied when a setting it depends on changes."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from django.core.signals import setting_changed

from dashboard import conf
from dashboard.monitor.counting import counting_client
from queues import Manager

log = logging.getLogger(__name__)
_lock = threading.Lock()
#: Managers kept at most, least recently used dropped first: far more than the Redis servers
#: a dashboard watches, but a bound all the same (every URL ever polled or typed would stay
#: otherwise). A dropped manager's connections close when it is garbage.
MAX_MANAGERS = 256
_managers: OrderedDict[tuple[str, float], Manager] = OrderedDict()


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
            while len(_managers) > MAX_MANAGERS:
                _managers.popitem(last=False)
        else:
            _managers.move_to_end(key)
        return manager


def reset_managers() -> None:
    """Forget cached managers (tests point REDIS_URL at fresh servers)."""
    with _lock:
        for manager in _managers.values():
            manager.client.close()
        _managers.clear()


#: Settings the cached clients were built from: changing one (tests, a settings reload)
#: closes them, so no client keeps talking to a Redis the settings no longer name.
CLIENT_SETTINGS = frozenset({"REDIS_URL", "STREAMWARDEN_ACTIVE_IDLE"})


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in CLIENT_SETTINGS:
        reset_managers()


setting_changed.connect(_settings_changed, dispatch_uid="streamwarden-reset-managers")
