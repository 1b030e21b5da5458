"""Run the monitor on APScheduler in its own process (never in web workers)."""

from __future__ import annotations

import logging
import signal
import time
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from dashboard import conf
from dashboard.monitor.engine import Monitor

log = logging.getLogger(__name__)


def build_scheduler(monitor: Monitor, *, interval: float | None = None) -> BlockingScheduler:
    """A blocking scheduler with one job: ``monitor.cycle`` every ``interval`` seconds,
    never two at once (max_instances=1) and missed runs coalesced into one. A cycle that
    outlasts the interval is followed by the next one at once, not at the next tick of the
    interval's grid (a 1.1 s cycle at 1 s would otherwise complete every 2 s)."""
    scheduler = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)}, timezone=UTC
    )
    seconds = interval or conf.poll_interval()

    def tick() -> None:
        while True:
            started = time.monotonic()
            monitor.cycle()
            if time.monotonic() - started < seconds or not scheduler.running:
                return

    scheduler.add_job(
        tick,
        "interval",
        seconds=seconds,
        id="streamwarden-monitor",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        next_run_time=datetime.now(UTC),
    )
    return scheduler


def run(monitor: Monitor | None = None, *, interval: float | None = None) -> None:
    """Block until SIGTERM/SIGINT; then release the lease so a standby takes over at once."""
    monitor = monitor or Monitor()
    monitor.freeze_gc = True  # this process is the monitor's alone
    scheduler = build_scheduler(monitor, interval=interval)

    def stop(signum: int, frame: Any) -> None:
        log.info("monitor: signal %s, stopping", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "monitor %s: polling every %ss (lease ttl %ss)",
        monitor.name,
        interval or conf.poll_interval(),
        conf.lease_ttl(),
    )
    try:
        scheduler.start()
    finally:
        monitor.shutdown()
