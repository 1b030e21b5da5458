"""Benchmark of writing library events: what the safe trim of the events stream costs Redis.

    python -m tests.bench.events [--events 50000] [--rounds 3]

One private redis-server. Each case writes ``--events`` events from one server-side loop
(no round trips in the figure), as the library's scripts do:
- ``blind MAXLEN ~``: the former ``XADD … MAXLEN ~ 10000`` (drops unread events);
- ``add_event, no group``: nobody reads through a group (capped at about 10 000);
- ``add_event, group behind``: the dashboard is down, nothing may be trimmed;
- ``add_event, group keeping up``: the group has read everything every 640 events (the
  stream is trimmed to 10 000 by the safe trim).
Prints µs per event (medians of the rounds). A script, not a test: not collected by pytest.
"""

from __future__ import annotations

import argparse
import statistics
import time

from queues import events, scripts
from tests.support.redis_process import RedisServer

LOOP = "for i = 1, tonumber(ARGV[1]) do {write} end"
FIELDS = "'type', 'claimed', 'queue', 'q', 'group', 'g', 'id', i, 'new_owner', 'c1'"
BLIND = LOOP.format(write=f"redis.call('XADD', KEYS[1], 'MAXLEN', '~', 10000, '*', {FIELDS})")
SAFE = (
    f"local EVENTS_HARD_MAX = {events.HARD_MAX_EVENTS}\n"
    f"local EVENTS_DROP_BATCH = {events.DROP_BATCH}\n"
    f"local EVENTS_CHECK_EVERY = {events.CHECK_EVERY}\n"
    + scripts._read("_safe_trim")
    + scripts._read("_events")
    + LOOP.format(write=f"add_event(KEYS[1], {events.MAX_EVENTS}, {FIELDS})")
)
CASES = [
    ("blind MAXLEN ~", BLIND, None),
    ("add_event, no group", SAFE, None),
    ("add_event, group behind", SAFE, "behind"),
    ("add_event, group keeping up", SAFE, "keeping up"),
]


def run_case(client, script: str, group: str | None, count: int) -> tuple[float, int]:
    key = "bench:events"
    client.delete(key)
    client.xadd(key, {"x": 1})
    if group is not None:
        client.xgroup_create(key, "g", id="0")
    sha = client.script_load(script)
    started = time.perf_counter()
    if group == "keeping up":
        for _ in range(count // 640):
            client.evalsha(sha, 1, key, 640)
            client.xgroup_setid(key, "g", "$")  # read and acknowledged everything
    else:
        client.evalsha(sha, 1, key, count)
    return (time.perf_counter() - started) * 1e6 / count, client.xlen(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    server = RedisServer().start()
    try:
        client = server.client()
        results: dict[str, list[float]] = {label: [] for label, _, _ in CASES}
        lengths: dict[str, int] = {}
        for _ in range(opts.rounds):
            for label, script, group in CASES:
                us, lengths[label] = run_case(client, script, group, opts.events)
                results[label].append(us)
        print(f"| case ({opts.events} events) | µs per event | stream length after |")
        print("|---|---|---|")
        for label, _, _ in CASES:
            print(f"| {label} | {statistics.median(results[label]):.2f} | {lengths[label]} |")
    finally:
        server.close()


if __name__ == "__main__":
    main()
