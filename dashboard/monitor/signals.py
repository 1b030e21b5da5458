"""What the monitor tells whoever listens (the alerts app), as ``django.dispatch`` signals.

Dependencies run one way: the monitor never imports ``alerts``; ``alerts`` connects its
receivers (``alerts/receivers.py``) when its app is ready. A dashboard without the alerts
app has no receivers, and the monitor skips the work that only feeds them.

Errors of a receiver follow one rule (``emit``): a ``DatabaseError`` reaches the monitor,
which keeps what it could not store for the next cycle or retries it in smaller parts; a
Redis error or any other failure is logged and the cycle goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import redis
from django.db import DatabaseError
from django.dispatch import Signal

log = logging.getLogger("dashboard.monitor")

#: The ``sender`` of every monitor signal.
SENDER = "dashboard.monitor"


@dataclass(frozen=True)
class StatusReport:
    """The current status of one (kind, queue, group): kind threshold or trend."""

    kind: str
    queue: str
    group: str | None
    status: str
    details: dict[str, Any] = field(default_factory=dict)
    redis_url: str = ""


#: ``reports``: list[StatusReport] that changed since the last cycle (one call per batch,
#: inside a transaction the monitor opens).
statuses_changed = Signal()
#: ``queue``, ``group``, ``status`` (ok|warn|alert), ``details``: a claim storm began,
#: changed or ended.
claim_storm_changed = Signal()
#: ``redis_url``, ``reachable``, ``error``: a watched Redis went away or came back.
redis_reachability = Signal()
#: ``redis_url``, ``queues``, ``consumer_name``, ``moved``: library events of these queues
#: may be read; ``moved`` (None: all) are those whose events stream moved since they were
#: last read to the end, or that the monitor cannot vouch for. Receivers answer the set of
#: queues they read to the end; the monitor asks for the others again next cycle.
events_due = Signal()
#: ``claims``: claims inferred on plain streams (dicts: queue, group, message_id,
#: event_id, details); storing them twice is harmless.
claims_inferred = Signal()
#: A cycle completed and was recorded: the monitor is alive.
cycle_recorded = Signal()
#: ``cursor`` (None: first call), ``since``, ``limit``: receivers return ``(claims, cursor)``,
#: claims as (queue, group, message_id, details, created_at), oldest first.
claims_wanted = Signal()


def emit(signal: Signal, what: str, **kwargs: Any) -> list[Any]:
    """Send ``signal``; the receivers' answers, or [] when one failed (logged)."""
    try:
        return [answer for _, answer in signal.send(sender=SENDER, **kwargs)]
    except DatabaseError:
        raise
    except (redis.RedisError, OSError) as exc:
        log.warning("monitor signal %s: Redis error %s", what, exc)
    except Exception:
        log.exception("monitor signal %s: a receiver failed", what)
    return []
