"""The one place the dashboard obtains a library Manager for a Redis URL."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

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
