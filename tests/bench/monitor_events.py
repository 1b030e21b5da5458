"""Benchmark of the monitor's event ingestion: change-driven against reading every queue.

    python -m tests.bench.monitor_events [--queues 10000] [--cycles 10] [--events 0,10]

One private redis-server with ``--queues`` library queues (5 entries, one group each) and a
throwaway SQLite database. Per scenario, ``--cycles`` rounds of what a monitor cycle does
for events, in process: the poll with its change check (``poll`` with a ``ChangeWatch``,
which also looks at each events stream's last id), then the ingestion of the queues whose
events moved (``EventMarks``, "moved") or, as the monitor did before, of every queue
("every"). Before each round one ``claimed`` event is written to each of a rotating
``--events`` percent of the queues. Prints, per scenario, the median poll and ingestion
milliseconds, the XREADGROUP and XAUTOCLAIM commands per round (INFO commandstats) and the
rows created. The takeover look (XAUTOCLAIM, a tenth of the queues at a time) runs at the
pace of the rounds, as in the monitor. A script, not a test: not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.environment import describe
from tests.bench.seeding import seed_queues
from tests.support.redis_process import RedisServer


def seed(server: RedisServer, queues: int) -> list[str]:
    names = [f"ev-{i:05d}" for i in range(queues)]
    return seed_queues(server, names, entries=5, groups=["g"])


def _calls(client: Any, command: str) -> int:
    return int(client.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


def scenario(server: RedisServer, names: list[str], mode: str, percent: int, cycles: int) -> None:
    from alerts import ingest
    from alerts.models import Alert
    from dashboard.monitor.library import manager_for, reset_managers
    from dashboard.monitor.poller import ChangeWatch, Target, poll

    reset_managers()
    Alert.objects.all().delete()
    client = server.client()
    url = server.url
    targets = [Target(n, n, url) for n in names]
    watch = ChangeWatch()
    consumer = f"bench-{mode}-{percent}-{time.monotonic_ns()}"
    per_round = len(names) * percent // 100
    polls, ingests, reads, claims, rows = [], [], [], [], []
    position = 0
    for n in range(cycles + 1):
        pipe = client.pipeline(transaction=False)
        for _ in range(per_round):
            name = names[position % len(names)]
            position += 1
            pipe.xadd(
                f"sw:{{{name}}}:events",
                {"type": "claimed", "queue": name, "group": "g", "id": f"{position}-0"},
            )
        pipe.execute()
        before = (_calls(client, "xreadgroup"), _calls(client, "xautoclaim"), Alert.objects.count())
        started = time.perf_counter()
        poll(targets, manager_for=manager_for, watch=watch)
        polled = time.perf_counter()
        queues = [t.queue for t in targets]
        moved = watch.events.due(url, queues) if mode == "moved" else None
        done = ingest.ingest_moved(
            redis_url=url, queues=queues, consumer_name=consumer, moved=moved
        ).drained
        watch.events.done(url, done)
        ended = time.perf_counter()
        if n == 0:
            continue  # the first round reads every queue in full (and makes their groups)
        polls.append((polled - started) * 1000)
        ingests.append((ended - polled) * 1000)
        reads.append(_calls(client, "xreadgroup") - before[0])
        claims.append(_calls(client, "xautoclaim") - before[1])
        rows.append(Alert.objects.count() - before[2])
    med = statistics.median
    print(
        f"| {mode} | {percent} % | {med(polls):,.0f} | {med(ingests):,.0f} "
        f"({min(ingests):,.0f}–{max(ingests):,.0f}) | {med(reads):,.0f} | {med(claims):,.0f} "
        f"| {med(rows):,.0f} |"
    )
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", type=int, default=10_000)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--events", default="0,10", help="percents, comma separated")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sw-bench-events-"))
    server = RedisServer().start()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings.test",
        DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
        REDIS_URL=server.url,
        LOG_LEVEL="ERROR",
    )
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        version = server.client().info("server")["redis_version"]
        print(describe(str(version)))
        names = seed(server, args.queues)
        print(
            f"\n{args.queues:,} queues, {args.cycles} rounds per scenario; medians per round\n\n"
            "| ingestion | events per round | poll ms | ingestion ms (min–max) | XREADGROUP "
            "| XAUTOCLAIM | rows |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
        )
        for percent in (int(p) for p in args.events.split(",")):
            for mode in ("every", "moved"):
                scenario(server, names, mode, percent, args.cycles)
    finally:
        server.stop()
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()


if __name__ == "__main__":
    main()
