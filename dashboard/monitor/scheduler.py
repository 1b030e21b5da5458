"""Run the monitor on APScheduler in its own process (never in web workers)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import UTC
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from dashboard import conf, live
from dashboard.monitor.engine import Monitor

log = logging.getLogger(__name__)


class _LoopScheduler(BlockingScheduler):
    """Tells the loop to stop before the executor waits for it (the scheduler's shutdown
    event comes only after that wait)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.stopped = threading.Event()

    def shutdown(self, wait: bool = True) -> None:
        self.stopped.set()
        super().shutdown(wait)


def build_scheduler(monitor: Monitor, *, interval: float | None = None) -> BlockingScheduler:
    """A blocking scheduler whose one job runs ``monitor.cycle`` in a loop until shutdown:
    each cycle starts ``interval`` seconds after the previous one started, or at once when
    that one outlasted the interval. The loop keeps its own clock rather than APScheduler's
    interval grid: a cycle ending a hair before the grid's next tick raced the scheduler's
    "still running" check and was skipped to the tick after, so a 0.99 s cycle at 1 s
    completed every 2 s."""
    scheduler = _LoopScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)}, timezone=UTC
    )
    seconds = interval or conf.poll_interval()
    monitor.interval = seconds  # what its turns in cycles are worth in seconds
    stopped = scheduler.stopped

    def loop() -> None:
        while not stopped.is_set():
            started = time.monotonic()
            monitor.cycle()
            stopped.wait(max(0.0, seconds - (time.monotonic() - started)))

    scheduler.add_job(loop, id="streamwarden-monitor")  # no trigger: once, at start
    return scheduler


def run(monitor: Monitor | None = None, *, interval: float | None = None) -> None:
    """Block until SIGTERM/SIGINT; then release the lease so a standby takes over at once."""
    monitor = monitor or Monitor()
    monitor.freeze_gc = True  # this process is the monitor's alone
    live.own_loop()  # its pushes from one event loop, on connections kept open
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
