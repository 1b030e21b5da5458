"""Helper tasks, signals and shutdown of the asyncio consumer, as queues.Consumer's threads.

Per engine a mover (due delayed tickets, at their due time) and a heartbeat
(acknowledgements every ``ack_interval``, held entries and the ordered lock kept fresh); they
run until the shutdown has finished or let go what the consumer holds.

SIGTERM or SIGINT (when run() runs on the main thread's loop, ``handle_signals=True``): stop
reading, finish what is held, acknowledge, leave the group if nothing is pending. A second
signal stops at once: the handler tasks are cancelled, what they held stays pending for
other consumers to claim, and run() raises KeyboardInterrupt. After run() returns no handler
runs (tasks still running after ``shutdown_timeout`` are cancelled too).
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import redis

from queues import commands
from queues.backoff import Backoff
from queues.connection import UNAVAILABLE_ERRORS
from queues.consumer import timing

from .handling import log

if TYPE_CHECKING:
    from . import Consumer
    from .engine import Engine

SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def mover(engine: Engine, stop: asyncio.Event) -> None:
    """Move due delayed tickets at their due time (or every move_interval) until stop."""
    backoff = Backoff(base=0.1, cap=2.0)
    wait = 0.0
    interval = engine.consumer.move_interval
    while not await sleep_unless(stop, wait):
        try:
            moved, next_due = await engine.move_due()
        except UNAVAILABLE_ERRORS as exc:
            wait = backoff.next()
            log.debug("consumer %s: mover could not reach Redis: %s", engine.name, exc)
            continue
        except Exception:
            wait = backoff.next()
            log.exception("consumer %s: moving due delayed messages failed", engine.name)
            continue
        backoff.reset()
        engine._next_due_at = None if next_due is None else time.monotonic() + next_due
        wait = timing.mover_wait(
            moved, next_due, move_batch=engine.consumer.move_batch, move_interval=interval
        )


async def heartbeat(engine: Engine, stop: asyncio.Event) -> None:
    """Flush acknowledgements every ack_interval and keep held entries fresh (and the
    ordered lock) until stop, then flush once more."""
    c = engine.consumer
    next_touch = time.monotonic() + c.heartbeat_interval
    while True:
        stopping = await sleep_unless(stop, c.ack_interval)
        try:
            await engine.flush_acks()
            if c._ordered is not None:
                await c._ordered.beat()
            if time.monotonic() >= next_touch:
                next_touch = time.monotonic() + c.heartbeat_interval
                await engine.touch()
                if engine._guard is not None and (call := engine._guard.refresh_call()):
                    await engine._scripts.guard(*call)
        except UNAVAILABLE_ERRORS as exc:
            log.debug("consumer %s: heartbeat could not reach Redis: %s", engine.name, exc)
        except Exception:
            log.exception("consumer %s: heartbeat failed", engine.name)
        if stopping:
            return


async def sleep_unless(event: asyncio.Event, seconds: float) -> bool:
    """Sleep, but wake when ``event`` is set; True when it is."""
    if event.is_set():
        return True
    try:
        await asyncio.wait_for(event.wait(), timeout=max(0.0, seconds))
    except TimeoutError:
        return False
    return True


def install_signal_handlers(c: Consumer) -> Callable[[], None]:
    """Stop on SIGTERM/SIGINT via loop.add_signal_handler; the function that restores the
    handlers there were before. Nothing off the main thread (signals go to it only)."""
    if not c.handle_signals or threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if c._abort:
            return
        if c._stop.is_set():
            log.warning("consumer %s: second %s: stopping at once", c.name, name)
            c._abort_now()
            return
        log.warning("consumer %s: %s received, finishing in-flight messages", c.name, name)
        c.stop()

    installed = []
    try:
        for sig in SIGNALS:
            loop.add_signal_handler(sig, on_signal, sig)
            installed.append(sig)
    except (NotImplementedError, RuntimeError, ValueError) as exc:  # e.g. no signals here
        log.debug("consumer %s: no signal handling: %s", c.name, exc)

    def restore() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)
            if previous[sig] is not None:
                signal.signal(sig, previous[sig])

    return restore


async def shut_down(c: Consumer, helpers: list[asyncio.Task[None]]) -> None:
    """Finish what is held (unless aborted or past shutdown_timeout: then cancel it, its
    entries stay pending), stop the helper tasks, settle with Redis."""
    finished = False
    if not c._abort:
        pending = [t for e in c._engines for t in e._tasks if not t.done()]
        if pending:
            _done, left = await asyncio.wait(pending, timeout=c.shutdown_timeout)
            finished = not left
        else:
            finished = True
        finished = finished and not c._abort
    if not finished:
        # nothing may handle after run() returns: cancel the handlers still running and
        # those waiting for a slot; their entries stay pending for other consumers
        left_tasks = [t for e in c._engines for t in e._tasks if not t.done()]
        held = sum(len(e._inflight) for e in c._engines)
        for task in left_tasks:
            task.cancel()
        await asyncio.gather(*left_tasks, return_exceptions=True)
        log.warning(
            "consumer %s: stopping %s; %d held messages stay pending for other consumers to claim",
            c.name,
            "at once (second signal)"
            if c._abort
            else f"after shutdown_timeout={c.shutdown_timeout}s",
            held,
        )
        for engine in c._engines:
            engine._inflight.clear()
    c._helpers_stop.set()
    await asyncio.gather(*helpers, return_exceptions=True)
    for engine in c._engines:
        try:
            await engine.flush_acks()
            if c._ordered is not None:
                await c._ordered.release()
            if finished:
                # leave no trace in XINFO CONSUMERS, but only when nothing would be dropped
                keys, args = commands.delete_consumer_call(engine.keys, c.group, c.name)
                await engine._scripts.delete_consumer(keys=keys, args=args)
        except redis.RedisError as exc:
            log.warning("consumer %s: could not settle with Redis on exit: %s", c.name, exc)
