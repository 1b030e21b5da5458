"""Claim scan state and replies (claim.lua): bounded steps with a cursor kept between ticks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from queues.delayed import retry_ticket_prefix
from queues.entries import text
from queues.keys import RETRY_CONSUMER, QueueKeys


@dataclass(frozen=True, slots=True)
class ClaimedEntry:
    """An entry this consumer now owns, with who owned it before."""

    id: str
    fields: dict[bytes, bytes]
    deliveries: int
    previous_owner: str
    idle_ms: int


@dataclass(frozen=True, slots=True)
class ClaimResult:
    cursor: str
    claimed: list[ClaimedEntry]
    dead_lettered: int

    @property
    def exhausted(self) -> bool:
        """True when the scan reached the end of the pending list (cursor back at start)."""
        return self.cursor == "-"


def parse_reply(reply: list) -> ClaimResult:
    """Decode claim.lua's reply."""
    cursor, rows, dead = reply
    claimed = []
    for row in rows:
        entry_id, flat, deliveries, owner, idle = row
        fields = {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}
        claimed.append(
            ClaimedEntry(text(entry_id), fields, int(deliveries), text(owner), int(idle))
        )
    return ClaimResult(text(cursor), claimed, int(dead))


@dataclass
class ClaimScan:
    """Where the claim scan of one consumer stands and when it runs next.

    A scan step looks at up to ``count`` idle pending entries after the cursor. While steps
    come back full the next one runs on the next loop turn (a storm drains at processing
    speed, interleaved with new messages); once the cursor wraps, the scan rests for
    ``interval`` seconds.
    """

    claim_idle_ms: int
    interval: float
    cursor: str = "-"
    next_at: float = 0.0

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def keys(self, keys: QueueKeys) -> list[str]:
        return [keys.stream, keys.dead, keys.events, keys.delayed]

    def args(
        self,
        group: str,
        consumer: str,
        count: int,
        queue: str,
        max_events: int,
        held: Iterable[str] = (),
    ) -> list:
        return [
            group,
            consumer,
            self.claim_idle_ms,
            self.cursor,
            count,
            # a parked retry is taken only when its ticket is gone (released by the mover,
            # or lost), never on a guess from this consumer's own backoff_max
            retry_ticket_prefix(group),
            RETRY_CONSUMER,
            queue,
            max_events,
            *held,
        ]

    def rescan_now(self) -> None:
        """Scan from the start on the next turn (retries were just released)."""
        self.cursor = "-"
        self.next_at = 0.0

    def advance(self, result: ClaimResult, now: float) -> None:
        """Keep the cursor; rest only when the pending list has been scanned to its end."""
        self.cursor = result.cursor
        self.next_at = now + self.interval if result.exhausted else now
