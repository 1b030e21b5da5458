"""The notifications queue: delivery jobs go through a StreamWarden queue.

``enqueue`` publishes with the library's Producer (a delayed publish for a retry), and the
notifier reads them with a library Consumer (``alerts.notifier``), so a job survives a
notifier restart and a retry's wait lives in Redis, not in a sleeping process.

The Redis is ``conf.notifications_redis_url()``, handed to the library as a URL: a single
server, a Sentinel-monitored master (``redis+sentinel://``, found again after a failover) or
a Redis Cluster (``redis+cluster://``) all work, with the library's bounded timeouts.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core import signing

from alerts import conf
from queues import Producer

#: A delivery job travels signed with the dashboard's SECRET_KEY: any producer can write
#: the notifications stream, but only the dispatcher can make a job the notifier obeys.
SALT = "streamwarden.alerts.notification-job"

#: Consumer group of the notifier processes on the notifications queue.
GROUP = "notifier"

_producers: dict[tuple[str, str], Producer] = {}
_lock = threading.Lock()


def producer() -> Producer:
    """The (cached, thread-safe) Producer of the configured notifications queue.

    Raises ``queues.QueueUnavailable`` when a cluster URL cannot be reached (a cluster
    client fetches its slot map when created); nothing is cached then.
    """
    key = (conf.notifications_redis_url(), conf.notifications_queue())
    with _lock:
        if key not in _producers:
            _producers[key] = Producer(key[1], redis=key[0])
        return _producers[key]


def reset_producers() -> None:
    """Close and forget the cached Producers (tests that replace their Redis servers)."""
    with _lock:
        for cached in _producers.values():
            cached.close()
        _producers.clear()


def enqueue(job: dict[str, Any], *, delay: float | None = None) -> str:
    """Put a delivery job (signed) into the notifications queue, now or after ``delay`` s.

    Raises ``queues.QueueUnavailable`` when the queue's Redis is down; the dispatcher keeps
    the notification and tries again on its next tick.
    """
    signed = {"signed": signing.dumps(job, salt=SALT)}
    return producer().publish(signed, delay=delay if delay and delay > 0 else None)


def open_job(payload: Any) -> dict[str, Any] | None:
    """The job a message carries, or None when it was not signed by a dispatcher (a forged
    or damaged message: the notifier drops it)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("signed"), str):
        return None
    try:
        job = signing.loads(payload["signed"], salt=SALT)
    except signing.BadSignature:
        return None
    return job if isinstance(job, dict) else None
