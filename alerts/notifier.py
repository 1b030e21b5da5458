"""The notifier worker: dispatches due alerts and delivers notification jobs.

Runs in its own process (``manage.py notifier``): a dispatcher thread ticks ``dispatch_due``
and the main loop reads delivery jobs from the notifications queue and hands them to the
channel backends. A failed attempt is logged and the job is put back with an exponential
delay (in Redis), until it succeeds or ``STREAMWARDEN_NOTIFY_MAX_ATTEMPTS`` is reached.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from django.db import close_old_connections

from alerts import conf, outbox
from alerts.backends import get_backend
from alerts.dispatch import dispatch_due
from alerts.exceptions import BackendConfigurationError
from alerts.models import Notification, NotificationChannel, NotificationDelivery

logger = logging.getLogger(__name__)


def deliver_job(job: dict[str, Any]) -> NotificationDelivery | None:
    """Make one delivery attempt for a job; schedules the retry itself. Idempotent.

    Returns the logged attempt, or None when there was nothing to do (already delivered,
    channel gone or disabled).
    """
    notification = Notification.objects.filter(pk=int(job.get("notification") or 0)).first()
    channel = NotificationChannel.objects.filter(pk=int(job.get("channel") or 0)).first()
    if notification is None or channel is None or not channel.enabled:
        return None
    if NotificationDelivery.objects.filter(
        notification=notification, channel=channel, ok=True
    ).exists():
        return None  # a redelivered job: the people were told already
    attempt = int(job.get("attempt", 1))
    last = attempt >= conf.max_delivery_attempts()
    try:
        backend = get_backend(channel)
    except BackendConfigurationError as exc:
        return NotificationDelivery.objects.create(
            notification=notification,
            channel=channel,
            attempt=attempt,
            ok=False,
            error=str(exc),
            final=True,
        )
    delivery = backend.send(notification, attempt=attempt, last_attempt=last)
    if not delivery.ok and not last:
        outbox.enqueue({**job, "attempt": attempt + 1}, delay=backend.retry_delay(attempt))
    return delivery


class Notifier:
    """Dispatcher thread + delivery loop; ``stop()`` ends both (thread-safe)."""

    def __init__(self, *, name: str | None = None, tick: float = 1.0, block_ms: int = 500):
        self.name = name or f"notifier-{socket.gethostname()}-{os.getpid()}"
        self.tick = tick
        self.block_ms = block_ms
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def dispatch_loop(self) -> None:
        while not self._stop.is_set():
            try:
                close_old_connections()
                dispatch_due()
            except Exception:  # noqa: BLE001 - DB hiccup: try again next tick
                logger.exception("dispatch tick failed")
            finally:
                close_old_connections()
            self._stop.wait(self.tick)

    def deliver_once(self, reader: outbox.OutboxReader) -> int:
        """Read and deliver one batch of jobs; returns how many were handled."""
        jobs = reader.read(block_ms=self.block_ms)
        for job in jobs:
            close_old_connections()
            deliver_job(job.payload)
            # Ack after the attempt is logged and any retry is enqueued: a crash before this
            # line leaves the job pending, and it is taken over (redelivery is idempotent).
            reader.ack(job.entry_id)
        return len(jobs)

    def run(self) -> None:
        dispatcher = threading.Thread(target=self.dispatch_loop, name="dispatcher", daemon=True)
        dispatcher.start()
        reader = outbox.OutboxReader(name=self.name)
        try:
            while not self._stop.is_set():
                try:
                    self.deliver_once(reader)
                except Exception:  # noqa: BLE001 - Redis/DB down: back off, keep the process
                    logger.exception("delivery loop failed; retrying")
                    self._stop.wait(1.0)
        finally:
            self._stop.set()
            dispatcher.join(timeout=10)
            close_old_connections()
