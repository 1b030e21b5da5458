"""Benchmark of one monitor poll: 1 000 streams × 3 groups on a private redis-server.

    python -m tests.bench_monitor [--queues 1000] [--groups 3] [--cycles 10]

Prints milliseconds and Redis commands per poll cycle (the figure the README records).
A script, not a test: it is not collected by pytest.
"""

from __future__ import annotations

import argparse
import statistics

from dashboard.monitor.counting import counting_client
from dashboard.monitor.poller import Target, poll
from queues import Manager
from tests.redis_process import RedisServer


def populate(server: RedisServer, queues: int, groups: int, entries: int) -> list[str]:
    client = server.client()
    names = [f"bench-{i:05d}" for i in range(queues)]
    pipe = client.pipeline(transaction=False)
    for name in names:
        key = f"sw:{{{name}}}:stream"
        for n in range(entries):
            pipe.xadd(key, {"payload": f'{{"n": {n}}}', "ctype": "json", "headers": "{}"})
        for g in range(groups):
            pipe.xgroup_create(key, f"group-{g}", id="0")
        pipe.sadd("sw:queues", name)
        if len(pipe) > 5000:
            pipe.execute()
    pipe.execute()
    pipe = client.pipeline(transaction=False)
    for name in names:  # some pending entries and a consumer per group
        for g in range(groups):
            pipe.xreadgroup(f"group-{g}", "worker", {f"sw:{{{name}}}:stream": ">"}, count=2)
        if len(pipe) > 5000:
            pipe.execute()
    pipe.execute()
    client.close()
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=3)
    parser.add_argument("--entries", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--poll-interval", type=float, default=2.0)
    args = parser.parse_args()
    server = RedisServer().start()
    try:
        names = populate(server, args.queues, args.groups, args.entries)
        manager = Manager(counting_client(server.url, timeout=10), active_idle_ms=30_000)
        targets = [Target(n, n, server.url) for n in names]
        poll(targets, manager_for=lambda url: manager)  # warm-up (scripts, connection)
        costs = [poll(targets, manager_for=lambda url: manager).cost for _ in range(args.cycles)]
        ms = [c.ms for c in costs]
        commands = costs[-1].commands
        print(
            f"{args.queues} streams × {args.groups} groups, {args.cycles} poll cycles: "
            f"median {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms, "
            f"{commands} Redis commands per cycle "
            f"({commands / args.queues:.1f} per queue); "
            f"poll interval {args.poll_interval:g} s -> "
            f"{100 * statistics.median(ms) / 1000 / args.poll_interval:.1f}% of it"
        )
    finally:
        server.close()


if __name__ == "__main__":
    main()
