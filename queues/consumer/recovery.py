"""What every consumer loop (plain, burst, ordered, priorities) does when a turn fails:
one place for the NOGROUP / Redis-unavailable / unexpected-error handling and its backoff.

- the group (or the whole stream) is gone (NOGROUP): the engines go back to start-up, where
  ``on_group_lost`` decides between re-creating the group and GroupLost;
- Redis does not answer: wait with a growing backoff and try again (burst: QueueUnavailable);
- any other error: logged, then the same wait (burst: raised to the caller);
- GroupLost, OrderedConsumerActive, KeyboardInterrupt: raised to the caller of run().
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis

from queues.backoff import Backoff
from queues.connection import UNAVAILABLE_ERRORS
from queues.exceptions import GroupLost, OrderedConsumerActive, QueueUnavailable

log = logging.getLogger(__name__)


def is_nogroup(exc: BaseException) -> bool:
    """True for the error Redis gives when the group (or the whole stream) is gone."""
    return isinstance(exc, redis.ResponseError) and "NOGROUP" in str(exc)


class Recovery:
    """Runs a loop's turns until it says it is done or ``stop`` is set."""

    def __init__(
        self,
        *,
        name: str,
        address: str,
        queue: str,
        group: str,
        on_group_lost: str,
        stop: threading.Event,
        burst: bool,
    ) -> None:
        self.name = name
        self.address = address
        self.queue = queue
        self.group = group
        self.on_group_lost = on_group_lost
        self.stop = stop
        self.burst = burst

    def run(
        self,
        turn: Callable[[], bool],
        *,
        on_nogroup: Callable[[], None],
        on_error_reply: Callable[[redis.ResponseError], bool] | None = None,
    ) -> None:
        """Call ``turn()`` until it returns True (done) or stop is set. ``on_nogroup``: the
        group vanished (send the engines back to start-up); ``on_error_reply``: a mode's
        own error replies (True: handled, go on)."""
        backoff = Backoff(base=0.1, cap=2.0)
        burst = self.burst
        while not self.stop.is_set():
            try:
                if turn():
                    return
                if backoff.failures:
                    log.info("consumer %s: Redis at %s answers again", self.name, self.address)
                    backoff.reset()
            except (GroupLost, OrderedConsumerActive):
                raise
            except redis.ResponseError as exc:
                if is_nogroup(exc):
                    log.warning(
                        "consumer %s: group %r of queue %r is gone (%s); on_group_lost=%r",
                        self.name,
                        self.group,
                        self.queue,
                        exc,
                        self.on_group_lost,
                    )
                    on_nogroup()
                    continue
                if on_error_reply is not None and on_error_reply(exc):
                    continue
                if burst:
                    raise
                log.exception("consumer %s: unexpected Redis error", self.name)
                self.stop.wait(backoff.next())
            except QueueUnavailable as exc:
                if burst:
                    raise
                self._unavailable(backoff, exc)
            except UNAVAILABLE_ERRORS as exc:
                if burst:
                    raise QueueUnavailable(self.address, f"{type(exc).__name__}: {exc}") from exc
                self._unavailable(backoff, exc)
            except Exception:
                if burst:
                    raise
                log.exception("consumer %s: unexpected error in the consumer loop", self.name)
                self.stop.wait(backoff.next())

    def _unavailable(self, backoff: Backoff, exc: object) -> None:
        delay = backoff.next()
        log.warning(
            "consumer %s: Redis at %s unavailable (%s); retrying in %.2fs",
            self.name,
            self.address,
            exc,
            delay,
        )
        self.stop.wait(delay)
