"""The one place the dashboard obtains a library Manager for a Redis URL."""

from __future__ import annotations

import logging
import threading
from typing import Any

from dashboard import conf
from dashboard.monitor.counting import counting_client

log = logging.getLogger(__name__)
_lock = threading.Lock()
_managers: dict[tuple[str, float], Any] = {}


def library_manager_class() -> Any | None:
    """``queues.Manager`` if the library offers it yet, else None."""
    try:
        import queues
    except ImportError:  # pragma: no cover - queues is always importable in this project
        return None
    return getattr(queues, "Manager", None)


def manager_for(url: str | None = None) -> Any:
    """A cached Manager on a counting client (commands per poll are measured)."""
    url = url or conf.redis_url()
    active_idle = conf.active_idle()
    key = (url, active_idle)
    with _lock:
        manager = _managers.get(key)
        if manager is None:
            client = counting_client(url)
            cls = library_manager_class()
            if cls is not None:
                manager = cls(redis=client)
            else:
                # TODO(dashboard): drop once queues.Manager lands (contract Requests).
                from dashboard.monitor.fallback import FallbackManager

                manager = FallbackManager(client, active_idle_ms=int(active_idle * 1000))
            _managers[key] = manager
        return manager


def reset_managers() -> None:
    """Forget cached managers (tests point REDIS_URL at fresh servers)."""
    with _lock:
        for manager in _managers.values():
            client = getattr(manager, "redis", None)
            if client is not None:
                client.close()
        _managers.clear()
