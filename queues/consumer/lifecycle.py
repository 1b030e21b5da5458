"""The threads of a running engine, its shutdown, and the signal handlers of a Consumer.

- worker threads (concurrency > 1) take entries from the engine's queue and settle them;
- the heartbeat flushes acknowledgements every ``ack_interval``, takes in a read-ahead reply
  that waits too long, refreshes the ordered lock, and keeps held entries (and processing
  tokens) fresh every ``heartbeat_interval``;
- the mover moves due delayed tickets into the stream at their due time (a thread of its
  own: a blocking XREADGROUP cannot time out more precisely than Redis's ``hz`` tick, while
  an ``Event.wait`` can; a moved entry wakes the blocked read at once).
"""

from __future__ import annotations

import logging
import queue as queue_mod
import signal
import threading
import time
from collections.abc import Callable, Sequence

import redis

from queues import commands, freshness
from queues.backoff import Backoff
from queues.connection import UNAVAILABLE_ERRORS
from queues.consumer import timing
from queues.consumer.engine import Engine
from queues.entries import text

log = logging.getLogger(__name__)

TOUCH_CHUNK = 500


class EngineThreads:
    """The helper threads of one engine, from start to shutdown."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._workers: list[threading.Thread] = []
        self._heartbeat: threading.Thread | None = None
        self._heartbeat_stop = threading.Event()
        self._mover: threading.Thread | None = None
        self._mover_stop = threading.Event()

    def start(self, *, mover: bool) -> None:
        engine = self.engine
        engine.closed.clear()
        engine.closing = False
        engine.work = queue_mod.SimpleQueue()
        engine.next_due_at = None
        name = engine.name
        self._workers = [
            threading.Thread(target=self._worker_main, name=f"sw-worker-{name}-{i}", daemon=True)
            for i in range(0 if engine.inline else engine.concurrency)
        ]
        self._heartbeat_stop.clear()
        self._heartbeat = threading.Thread(
            target=self._heartbeat_main, name=f"sw-heartbeat-{name}", daemon=True
        )
        self._mover_stop.clear()
        self._mover = None
        if mover:
            self._mover = threading.Thread(
                target=self._mover_main, name=f"sw-mover-{name}", daemon=True
            )
        for thread in (*self._workers, self._heartbeat, self._mover):
            if thread is not None:
                thread.start()

    def _worker_main(self) -> None:
        engine = self.engine
        while True:
            work = engine.work.get()
            if work is None or engine.closed.is_set():
                return  # what is still queued stays pending in Redis for other consumers
            engine.settle(work)

    def _heartbeat_main(self) -> None:
        engine = self.engine
        config = engine.config
        interval = config.heartbeat_seconds
        next_touch = time.monotonic() + interval
        while True:
            stopping = self._heartbeat_stop.wait(config.ack_interval)
            try:
                ahead = engine.ahead
                if ahead is not None and ahead.due_for_collect(time.monotonic(), interval):
                    ahead.collect()
                engine.acks.flush()
                if engine.lock is not None:
                    engine.lock.heartbeat()
                if time.monotonic() >= next_touch:
                    next_touch = time.monotonic() + interval
                    self._touch()
                    engine.settler.refresh_guard()
            except UNAVAILABLE_ERRORS as exc:
                log.debug("consumer %s: heartbeat could not reach Redis: %s", engine.name, exc)
            except Exception:
                log.exception("consumer %s: heartbeat failed", engine.name)
            if stopping:
                return

    def _touch(self) -> None:
        """Reset the idle time of what the engine holds."""
        engine = self.engine
        with engine.cond:
            fresh = freshness.to_refresh(
                engine.inflight,
                engine.held_ids(),
                now=time.monotonic(),
                handler_timeout=engine.config.handler_timeout,
                slots=engine.concurrency,
            )
        ids = fresh.ids
        if fresh.stuck:
            log.warning(
                "consumer %s: %d handlers running longer than handler_timeout=%ss; their "
                "messages (and %d waiting behind them) are no longer kept fresh: other "
                "consumers may claim them",
                engine.name,
                fresh.stuck,
                engine.config.handler_timeout,
                fresh.abandoned,
            )
        for start in range(0, len(ids), TOUCH_CHUNK):
            keys, args = commands.touch_call(
                engine.keys, engine.group, engine.name, ids[start : start + TOUCH_CHUNK]
            )
            lost = engine.scripts.touch(keys=keys, args=args)
            with engine.cond:
                still = [text(i) for i in lost if text(i) in engine.inflight]
            if still:
                log.warning(
                    "consumer %s: %d in-flight entries were claimed by another consumer "
                    "(this one was too slow to heartbeat): %s",
                    engine.name,
                    len(still),
                    ", ".join(still[:10]),
                )

    def _mover_main(self) -> None:
        engine = self.engine
        config = engine.config
        backoff = Backoff(base=0.1, cap=2.0)
        wait = 0.0
        while not self._mover_stop.wait(wait):
            try:
                moved, next_due = engine.move_due()
            except UNAVAILABLE_ERRORS as exc:
                wait = backoff.next()
                log.debug("consumer %s: mover could not reach Redis: %s", engine.name, exc)
                continue
            except Exception:
                wait = backoff.next()
                log.exception("consumer %s: moving due delayed messages failed", engine.name)
                continue
            backoff.reset()
            engine.next_due_at = None if next_due is None else time.monotonic() + next_due
            wait = timing.mover_wait(
                moved, next_due, move_batch=config.move_batch, move_interval=config.move_interval
            )

    def shut_down(self) -> None:
        """Finish what is held (unless aborted), then stop the helper threads and settle
        with Redis. A second signal during the wait switches to stopping at once."""
        engine = self.engine
        engine.stop.set()
        finished = False
        try:
            if not engine.abort.is_set():
                if engine.ahead is not None:
                    rows = engine.ahead.finish()  # those entries are this consumer's
                    if rows:
                        engine.dispatch(rows)
                finished = engine.wait_idle(engine.config.shutdown_timeout)
        except KeyboardInterrupt:
            engine.abort.set()
        engine.closing = True
        if not finished:
            self._let_go()
        for _ in self._workers:
            engine.work.put(None)
        for thread in self._workers:
            thread.join(timeout=5.0 if finished else 0.1)
        self._mover_stop.set()
        self._heartbeat_stop.set()
        if self._mover is not None:
            self._mover.join(timeout=10.0)
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=10.0)
        try:
            engine.acks.flush()
            if engine.lock is not None:
                engine.lock.release()
            if finished:
                # leave no trace in XINFO CONSUMERS, but only when nothing would be dropped
                keys, args = commands.delete_consumer_call(engine.keys, engine.group, engine.name)
                engine.scripts.delete_consumer(keys=keys, args=args)
        except redis.RedisError as exc:
            log.warning("consumer %s: could not settle with Redis on exit: %s", engine.name, exc)

    def _let_go(self) -> None:
        """Stop without the held entries: they stay pending in Redis (the read-ahead's too)
        and other consumers claim them after claim_idle. Python cannot stop a thread, so a
        handler still running in a worker thread runs to its end, but no other starts and
        its outcome is dropped (see ABANDONED)."""
        engine = self.engine
        engine.closed.set()
        left = engine.ahead.let_go() if engine.ahead is not None else 0
        with engine.cond:
            left += len(engine.inflight)
            engine.inflight.clear()
            engine.cond.notify_all()
        log.warning(
            "consumer %s: stopping %s; %d held messages stay pending for other consumers to claim",
            engine.name,
            "at once (second signal)"
            if engine.abort.is_set()
            else f"after shutdown_timeout={engine.config.shutdown_timeout}s",
            left,
        )


def install_signal_handlers(
    name: str,
    stop: Callable[[], None],
    stopping: threading.Event,
    abort: threading.Event,
    engines: Sequence[Engine],
) -> Callable[[], None]:
    """SIGTERM/SIGINT: the first stops gracefully (``stop``), a second stops at once
    (``abort``, and KeyboardInterrupt in the loop thread unless the shutdown is past its
    waiting part). Returns the function that restores the previous handlers."""
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.getsignal(sig) for sig in signals}

    def handler(signum: int, _frame: object) -> None:
        if abort.is_set():
            return  # already stopping at once; an exception here would cut that short
        if stopping.is_set():
            # second signal: interrupt the handler or the wait in the loop thread
            log.warning(
                "consumer %s: second %s: stopping at once", name, signal.Signals(signum).name
            )
            abort.set()
            if not any(engine.closing for engine in engines):
                raise KeyboardInterrupt
            return
        log.warning(
            "consumer %s: %s received, finishing in-flight messages",
            name,
            signal.Signals(signum).name,
        )
        stop()

    for sig in signals:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
