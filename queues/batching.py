"""How many entries to ask for in the next read: fixed, or sized from what is measured.

Sans-I/O, shared by queues.Consumer and queues.aio.Consumer. A consumer given no
``batch_size`` starts small and doubles its reads while they come back full and the handler
time of a whole batch stays well under ``TARGET_SECONDS``; when handlers are slow it shrinks
the batch to what fits in that target. Fast handlers thus get large batches (fewer round
trips), slow handlers small ones, so one consumer never holds minutes of work while the
others of its group idle. An explicit ``batch_size`` fixes the size.
"""

from __future__ import annotations

#: The first read of an adaptive consumer (the old fixed default).
START = 10
#: The largest adaptive read: a read-ahead consumer holds up to twice this many entries.
MAXIMUM = 500
#: Handler time one batch should take: long enough to amortise a round trip, short enough
#: that a batch held by a slow consumer is not work the others could have done.
TARGET_SECONDS = 0.05
#: Weight of the newest measurement in the running mean of seconds per message.
_SMOOTHING = 0.3


class BatchSizer:
    """The size of the next read. Not thread-safe: the caller serialises ``read`` and
    ``handled`` (the sync consumer calls them under its lock, the async one on its loop)."""

    def __init__(
        self,
        fixed: int | None,
        *,
        concurrency: int = 1,
        start: int = START,
        maximum: int = MAXIMUM,
        target: float = TARGET_SECONDS,
    ) -> None:
        self.fixed = fixed
        self.adaptive = fixed is None
        self.maximum = maximum
        self.target = target
        self.concurrency = concurrency
        self.size = fixed if fixed is not None else min(start, maximum)
        #: running mean of handler seconds per message (None until the first batch)
        self.per_message: float | None = None

    def batch_seconds(self, size: int | None = None) -> float:
        """Expected handler time of a batch of ``size`` (the current size by default),
        with ``concurrency`` handlers sharing it."""
        if self.per_message is None:
            return 0.0
        count = self.size if size is None else size
        return self.per_message * count / self.concurrency

    def read(self, asked: int, got: int) -> None:
        """A read asked for ``asked`` entries and returned ``got``: grow after a full one
        when even twice the batch would stay under the target."""
        if not self.adaptive or got < asked or asked < self.size:
            return  # a short read: the stream is drained, a larger one would not help
        if self.per_message is None or self.batch_seconds(self.size * 2) > self.target:
            return  # no handler timed yet, or a larger batch would not fit the target
        self.size = min(self.maximum, self.size * 2)

    def handled(self, count: int, seconds: float) -> None:
        """``count`` messages took ``seconds`` of handler time: shrink when a batch of the
        current size would take longer than the target."""
        if count <= 0:
            return
        sample = max(0.0, seconds) / count
        if self.per_message is None:
            self.per_message = sample
        else:
            self.per_message += _SMOOTHING * (sample - self.per_message)
        if not self.adaptive or self.per_message <= 0:
            return
        fits = int(self.target * self.concurrency / self.per_message)
        if fits < self.size:
            self.size = max(1, fits)
