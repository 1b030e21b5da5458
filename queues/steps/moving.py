"""Moving entries: delayed messages that fell due into the stream, and ordered mode's
takeover of a queue's lock and pending entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from queues import events
from queues.keys import RETRY_CONSUMER, QueueKeys
from queues.steps import Call


def move_due_call(keys: QueueKeys, move_batch: int) -> Call:
    """move_due.lua: publish due delayed messages, release due parked retries (dead-letter
    bad tickets and parked entries whose data was trimmed)."""
    return [keys.delayed, keys.stream, keys.dead, keys.events], [
        move_batch,
        RETRY_CONSUMER,
        keys.name,
        events.MAX_EVENTS,
    ]


def ordered_takeover_call(keys: QueueKeys, lock_key: str, group: str, consumer: str) -> Call:
    """ordered_takeover.lua: take over the pending entries of inactive predecessors."""
    return [keys.stream, keys.events, lock_key, keys.dead], [
        group,
        consumer,
        TAKEOVER_BATCH,
        keys.name,
        events.MAX_EVENTS,
    ]


#: Pending entries of predecessors one ordered_takeover.lua call takes at most.
TAKEOVER_BATCH = 1000


class TakenOver(NamedTuple):
    """What one ordered_takeover.lua call did."""

    taken: int
    removed: int  # predecessors removed from the group
    dead_lettered: int  # entries whose data was trimmed away

    @property
    def done(self) -> bool:
        """Nothing was left to take: stop calling."""
        return self.taken == 0 and self.dead_lettered == 0


def read_takeover(reply: list[Any]) -> TakenOver:
    return TakenOver(*(int(n) for n in reply))


@dataclass(frozen=True, slots=True)
class Moved:
    published: int
    released: int
    next_due: float | None  # seconds until the next ticket is due, None when there is none

    @property
    def moved(self) -> int:
        return self.published + self.released


def read_move_due(reply: list[Any]) -> Moved:
    published, released, now_ms, next_score = reply
    next_due = None if next_score is None else max(0.0, (float(next_score) - int(now_ms)) / 1000)
    return Moved(int(published), int(released), next_due)
