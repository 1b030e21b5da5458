"""Effectively once for handlers that write to a Django database.

Add ``queues.contrib.django`` to INSTALLED_APPS, migrate, then
``Consumer(queue, group, handler=idempotent(handle), redis=url)``. This package is the only
Django code of the library: ``import queues`` never imports it.
"""

from queues.contrib.django.handlers import idempotent
from queues.contrib.django.retention import prune, retention

__all__ = ["idempotent", "prune", "retention"]
