"""How long a consumer waits, shared by queues.Consumer and queues.aio.Consumer (sans I/O).

- ``capped_block_ms``: a blocking XREADGROUP must return before the socket read gives up.
- ``block_for``: how long the next read may block: at most ``block_ms``, and never past the
  next claim-scan step or (plus 10 ms, so the claim scan finds it released) the next
  delayed ticket the mover will move.
- ``mover_wait``: how long the mover sleeps after a run.
"""

from __future__ import annotations


def capped_block_ms(block_ms: int, read_timeout: float | None) -> int:
    """``block_ms``, lowered to 500 ms below the socket's read timeout (at least 10 ms)."""
    if read_timeout is None:
        return block_ms
    return max(10, min(block_ms, int(read_timeout * 1000) - 500))


def block_for(block_ms: int, now: float, *, claim_at: float, due_at: float | None) -> int | None:
    """Milliseconds the next read may block (None: it must not block at all).

    ``claim_at``: monotonic time of the next claim-scan step; ``due_at``: monotonic time the
    next known delayed ticket is due (None when there is none)."""
    limit = min(float(block_ms), (claim_at - now) * 1000)
    if due_at is not None:
        # wake for the claim scan soon after the mover releases a parked retry
        limit = min(limit, (due_at - now) * 1000 + 10)
    return int(limit) if limit >= 1 else None


def mover_wait(
    moved: int, next_due: float | None, *, move_batch: int, move_interval: float
) -> float:
    """Seconds the mover sleeps after moving ``moved`` tickets, the next due in ``next_due``
    seconds (None: none known): none when a full batch was moved (more may be due now),
    else until the next is due, at most ``move_interval`` (to learn of new tickets)."""
    if moved >= move_batch:
        return 0.0
    return move_interval if next_due is None else min(move_interval, next_due)
