"""Notification backends, chosen per channel by dotted path (like Django's EMAIL_BACKEND).

The path is typed by an admin, and importing a module runs its top-level code in the web
process. So a path is imported only when it is on the allowlist
(``STREAMWARDEN_NOTIFICATION_BACKENDS``); anything else is refused before any import.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

from alerts import conf
from alerts.exceptions import BackendConfigurationError

if TYPE_CHECKING:
    from alerts.backends.base import BaseBackend
    from alerts.models import NotificationChannel

__all__ = ["get_backend_class", "get_backend"]


def get_backend_class(path: str) -> type[BaseBackend]:
    """The backend class at ``path``; BackendConfigurationError naming the path if unusable.

    The allowlist is read on every call (it is a setting), the import is cached per path.
    """
    if not path:
        raise BackendConfigurationError("No backend given: enter a dotted path to a backend class.")
    allowed = conf.notification_backends()
    if path not in allowed:
        raise BackendConfigurationError(
            f"Notification backend {path!r} is not allowed. Allowed: {', '.join(allowed)}. "
            "Add your own backend class to the STREAMWARDEN_NOTIFICATION_BACKENDS setting."
        )
    return _import_backend(path)


@lru_cache(maxsize=64)
def _import_backend(path: str) -> type[BaseBackend]:
    from alerts.backends.base import BaseBackend

    try:
        backend = import_string(path)
    except ImportError as exc:
        raise BackendConfigurationError(
            f"Unknown notification backend {path!r}: {exc}. Use e.g. "
            "alerts.backends.webhook.WebhookBackend or alerts.backends.email.EmailBackend."
        ) from exc
    if not (isinstance(backend, type) and issubclass(backend, BaseBackend)):
        raise BackendConfigurationError(
            f"Notification backend {path!r} is not a subclass of alerts.backends.base.BaseBackend."
        )
    return backend


def get_backend(channel: NotificationChannel) -> BaseBackend:
    """An instance of the channel's backend, bound to the channel."""
    return get_backend_class(channel.backend)(channel)
