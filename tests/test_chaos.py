"""Chaos: producers and consumer processes under random SIGKILLs, a Redis crash and restart
(AOF, appendfsync always), a CLIENT KILL during blocking reads, and poison messages mixed in.

Nothing published may be lost: every message is handled at least once or sits in the
dead-letter stream with a reason; every claim becomes exactly one `claimed` alert row.
A reduced run is part of `make test`; `make chaos` runs the full one.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from alerts.ingest import ingest_events
from alerts.models import Alert
from queues import Manager
from tests.support.chaos_worker import GROUP, PROCESSED
from tests.support.redis_process import RedisServer, wait_for

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Fleet:
    url: str
    queue: str
    consumers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    producers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    kills: int = 0

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.support.chaos_worker", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def start_consumer(self) -> None:
        name = f"chaos-{uuid.uuid4().hex[:6]}"
        self.consumers[name] = self._spawn("consume", self.url, self.queue, name)

    def start_producer(self, number: int, count: int) -> None:
        self.producers.append(self._spawn("produce", self.url, self.queue, str(number), str(count)))

    def kill_random_consumer(self) -> None:
        name = random.choice(sorted(self.consumers))
        proc = self.consumers.pop(name)
        proc.kill()
        proc.wait()
        self.kills += 1
        self.start_consumer()

    def producers_done(self) -> bool:
        return all(p.poll() is not None for p in self.producers)

    def close(self) -> None:
        for proc in [*self.consumers.values(), *self.producers]:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def run_chaos(
    server: RedisServer,
    *,
    messages: int,
    producers: int,
    consumers: int,
    kills: int,
) -> dict[str, float]:
    url, queue = server.url, f"chaos-{uuid.uuid4().hex[:6]}"
    client = server.client()
    Manager(redis=url).create_group(queue, GROUP, start="0")
    per_producer = messages // producers
    expected = {f"{p}:{s}" for p in range(producers) for s in range(per_producer)}
    poison = {key for key in expected if int(key.split(":")[1]) % 97 == 13}
    fleet = Fleet(url, queue)
    started = time.monotonic()
    try:
        for _ in range(consumers):
            fleet.start_consumer()
        for number in range(producers):
            fleet.start_producer(number, per_producer)

        def progress() -> float:
            return len(client.hkeys(PROCESSED)) / len(expected)

        # Kills spread over the run; one Redis crash+restart and one CLIENT KILL in the middle.
        restarted = client_killed = False
        while (
            fleet.kills < kills or not (restarted and client_killed) or not fleet.producers_done()
        ):
            time.sleep(random.uniform(0.2, 0.6))
            done = wait_for(lambda: [progress()], 30, message="redis answers")[0]
            if fleet.kills < kills:
                fleet.kill_random_consumer()
            if not restarted and done > 0.3:
                server.kill()  # a crash: appendfsync always keeps every acknowledged write
                time.sleep(0.5)  # clients see a real outage
                server.start()
                restarted = True
            elif restarted and not client_killed and done > 0.5:
                client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
                client_killed = True
            if time.monotonic() - started > 600:
                raise AssertionError("chaos run took more than 10 minutes")
        for proc in fleet.producers:
            assert proc.returncode == 0
            assert proc.stdout is not None and b"published" in proc.stdout.read()

        manager = Manager(redis=url)

        def settled() -> bool:
            group = next(g for g in manager.info(queue).groups if g.name == GROUP)
            return group.lag == 0 and group.pending == 0 and manager.info(queue).delayed == 0

        wait_for(settled, 120, interval=0.5, message="every message handled or dead-lettered")
    finally:
        fleet.close()

    processed = {k.decode(): int(v) for k, v in client.hgetall(PROCESSED).items()}
    dead = Manager(redis=url).dead_letters(queue, count=messages)
    dead_keys = {f"{d.payload['p']}:{d.payload['s']}": d.reason for d in dead}
    lost = expected - set(processed) - set(dead_keys)
    assert not lost, f"{len(lost)} messages lost, e.g. {sorted(lost)[:5]}"
    assert poison <= set(dead_keys), "every poison message ends in the dead-letter stream"
    assert all(dead_keys.values()), "every dead letter says why"
    assert not (set(processed) & poison)

    claims = [
        e for e in Manager(redis=url).events(count=100_000, queue=queue) if e.type == "claimed"
    ]
    ingest_events(redis_url=url, queues=[queue], consumer_name="chaos-check")
    claimed_alerts = Alert.objects.filter(queue=queue, kind="claimed").count()
    assert claimed_alerts == len(claims)

    handled = sum(processed.values())
    summary = {
        "published": len(expected),
        "lost": len(lost),
        "processed": len(processed),
        "duplicates": handled - len(processed),
        "dead_lettered": len(dead_keys),
        "dead_lettered_not_poison": len(set(dead_keys) - poison),
        "kills": fleet.kills,
        "claims": len(claims),
        "claimed_alerts": claimed_alerts,
        "redis_restarts": 1,
        "client_kills": 1,
        "seconds": round(time.monotonic() - started, 1),
    }
    dup_rate = summary["duplicates"] / max(1, len(processed))
    print(
        "\nCHAOS SUMMARY "
        + " ".join(f"{k}={v}" for k, v in summary.items())
        + f" duplicate_rate={dup_rate:.3%}"
    )
    return summary


@pytest.mark.chaos
@pytest.mark.django_db
def test_reduced_chaos_run_loses_nothing(make_redis_server):
    server = make_redis_server(appendonly=True, appendfsync="always")
    summary = run_chaos(server, messages=4_000, producers=2, consumers=3, kills=4)
    assert summary["lost"] == 0


@pytest.mark.chaos_full
@pytest.mark.django_db
def test_full_chaos_run_loses_nothing(make_redis_server):
    server = make_redis_server(appendonly=True, appendfsync="always")
    summary = run_chaos(server, messages=100_000, producers=4, consumers=8, kills=24)
    assert summary["lost"] == 0
    assert summary["kills"] >= 20
