"""Claim storms and poison suspects, from the library's ``claimed`` events.

Each claim names the message, the previous and the new owner and the delivery count. Over
a sliding window per (queue, group) the detector reports the claim rate, the messages
claimed more than once (bouncing between owners — typically a message that kills or
stalls every consumer that takes it) and whether the group is in a storm. A storm starts
at ``storm_claims`` claims in the window and ends when fewer than half of that remain, so a
rate hovering at the limit makes one incident, not a flapping series.

Pure: no Django, no Redis; the monitor feeds it claims and asks for stats.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

Key = tuple[str, str]  # (queue display name, group)

TOP_BOUNCING = 5


@dataclass(frozen=True)
class Claim:
    """One ``claimed`` library event."""

    at_ms: int
    queue: str
    group: str
    message_id: str
    previous_owner: str = ""
    new_owner: str = ""
    deliveries: int | None = None


@dataclass(frozen=True)
class Bounce:
    """A message claimed more than once in the window, and the owners it passed through."""

    message_id: str
    claims: int
    owners: tuple[str, ...]
    deliveries: int | None


@dataclass(frozen=True)
class ClaimStats:
    """Claims of one group in the window."""

    claims: int
    rate_per_min: float
    messages: int
    bouncing: tuple[Bounce, ...]
    storm: bool
    storm_since_ms: int | None


class StormDetector:
    """Sliding windows of claims per group plus the storm state. Not thread-safe."""

    def __init__(self, *, window_s: float, storm_claims: int) -> None:
        self.window_ms = max(1, int(window_s * 1000))
        self.storm_claims = max(1, storm_claims)
        self.windows: dict[Key, deque[Claim]] = {}
        self.storming: dict[Key, int] = {}  # key -> storm start (ms)

    def add(self, claims: Iterable[Claim]) -> None:
        for claim in claims:
            self.windows.setdefault((claim.queue, claim.group), deque()).append(claim)

    def stats(self, now_ms: int) -> dict[Key, ClaimStats]:
        """Stats of every group with claims in the window, or in a storm that just ended
        (reported once more with ``storm=False`` so the caller sees the end)."""
        out: dict[Key, ClaimStats] = {}
        horizon = now_ms - self.window_ms
        for key in list(self.windows) + [k for k in self.storming if k not in self.windows]:
            window = self.windows.get(key, deque())
            while window and window[0].at_ms < horizon:
                window.popleft()
            count = len(window)
            if key in self.storming:
                if count < max(1, self.storm_claims // 2):
                    del self.storming[key]
            elif count >= self.storm_claims:
                self.storming[key] = window[0].at_ms if window else now_ms
            if not window:
                self.windows.pop(key, None)
            out[key] = ClaimStats(
                claims=count,
                rate_per_min=round(count * 60_000 / self.window_ms, 2),
                messages=len({c.message_id for c in window}),
                bouncing=bouncing(window),
                storm=key in self.storming,
                storm_since_ms=self.storming.get(key),
            )
        return out


def bouncing(claims: Iterable[Claim], top: int = TOP_BOUNCING) -> tuple[Bounce, ...]:
    """Messages claimed more than once, most claims (then most deliveries) first."""
    by_message: dict[str, list[Claim]] = {}
    for claim in claims:
        by_message.setdefault(claim.message_id, []).append(claim)
    bounces = []
    for message_id, seen in by_message.items():
        if len(seen) < 2:
            continue
        seen.sort(key=lambda c: c.at_ms)
        owners = [seen[0].previous_owner] if seen[0].previous_owner else []
        owners += [c.new_owner for c in seen]
        known = [c.deliveries for c in seen if c.deliveries is not None]
        bounces.append(Bounce(message_id, len(seen), tuple(owners), max(known) if known else None))
    bounces.sort(key=lambda b: (b.claims, b.deliveries or 0), reverse=True)
    return tuple(bounces[:top])
