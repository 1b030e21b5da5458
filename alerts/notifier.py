"""The notifier worker: dispatches due alerts and delivers notification jobs.

Runs in its own process (``manage.py notifier``): a dispatcher thread ticks ``dispatch_due``
and a library Consumer (group "notifier" on the notifications queue) hands each delivery job
to the channel's backend. A failed attempt is logged and the job is published again with an
exponential delay (held in Redis), until it succeeds or ``STREAMWARDEN_NOTIFY_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from django.db import close_old_connections

from alerts import conf, outbox
from alerts.backends import get_backend
from alerts.deadman import check_monitor
from alerts.dispatch import dispatch_due
from alerts.exceptions import BackendConfigurationError
from alerts.models import Notification, NotificationChannel, NotificationDelivery
from alerts.retention import prune
from queues import Consumer, Message

logger = logging.getLogger(__name__)

#: Seconds between two retention passes of the dispatcher.
PRUNE_EVERY = 3600.0


def deliver_job(job: dict[str, Any]) -> NotificationDelivery | None:
    """Make one delivery attempt for a job; schedules the retry itself. Idempotent.

    Returns the logged attempt, or None when there was nothing to do (already delivered,
    channel gone or disabled). Raises only for database / Redis trouble, which the
    library Consumer retries with its own backoff.
    """
    notification = Notification.objects.filter(pk=int(job.get("notification") or 0)).first()
    channel = NotificationChannel.objects.filter(pk=int(job.get("channel") or 0)).first()
    if notification is None or channel is None or not channel.enabled:
        return None
    if not channel.takes(notification):
        logger.warning(
            "job for notification %s to channel %s refused: the channel does not match it",
            notification.pk,
            channel.pk,
        )
        return None
    tried = NotificationDelivery.objects.filter(notification=notification, channel=channel)
    if tried.filter(ok=True).exists():
        return None  # a redelivered job: the people were told already
    # The attempts are counted in the database, never taken from the job alone: a job
    # replayed again and again still stops at the limit.
    attempt = max(int(job.get("attempt", 1)), tried.count() + 1)
    if attempt > conf.max_delivery_attempts():
        return None
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


def handle(message: Message) -> None:
    """Library handler: one delivery job. Returns = ack (the attempt is logged by then)."""
    close_old_connections()
    try:
        job = outbox.open_job(message.payload)
        if job is None:
            logger.warning("notification job %s dropped: not signed by a dispatcher", message.id)
            return
        deliver_job(job)
    finally:
        close_old_connections()


class Notifier:
    """Dispatcher thread + library Consumer; ``stop()`` ends both (thread-safe)."""

    def __init__(
        self,
        *,
        name: str | None = None,
        tick: float = 1.0,
        block_ms: int = 1000,
        concurrency: int = 4,
        handle_signals: bool = True,
    ) -> None:
        self.name = name or f"notifier-{socket.gethostname()}-{os.getpid()}"
        self.tick = tick
        self._stop = threading.Event()
        self.consumer = Consumer(
            conf.notifications_queue(),
            outbox.GROUP,
            handler=handle,
            redis=conf.notifications_redis_url(),
            name=self.name,
            # A job held by a notifier that died is taken over after this long; a webhook
            # attempt takes at most the webhook timeout, far below it.
            claim_idle=max(30.0, 4 * conf.webhook_timeout()),
            concurrency=concurrency,
            block_ms=block_ms,
            handle_signals=handle_signals,
        )

    def stop(self) -> None:
        self._stop.set()
        self.consumer.stop()

    def dispatch_loop(self) -> None:
        last_prune = 0.0
        while not self._stop.is_set():
            try:
                close_old_connections()
                check_monitor()
                dispatch_due()
                if time.monotonic() - last_prune >= PRUNE_EVERY:
                    last_prune = time.monotonic()
                    pruned = prune()
                    if any(pruned.values()):
                        logger.info("pruned old alerts data: %s", pruned)
            except Exception:  # noqa: BLE001 - DB hiccup: try again next tick
                logger.exception("dispatch tick failed")
            finally:
                close_old_connections()
            self._stop.wait(self.tick)

    def drain(self) -> None:
        """One dispatcher tick, then deliver every job available now (tests, cron)."""
        check_monitor()
        dispatch_due()
        self.consumer.run(burst=True)

    def run(self) -> None:
        """Blocking until ``stop()`` (or SIGTERM / SIGINT in the main thread)."""
        dispatcher = threading.Thread(target=self.dispatch_loop, name="dispatcher", daemon=True)
        dispatcher.start()
        try:
            self.consumer.run()
        finally:
            self._stop.set()
            dispatcher.join(timeout=10)
            self.consumer.close()
            close_old_connections()
