"""Effectively once under chaos: consumer processes SIGKILLed at random and Redis itself
killed and restarted (AOF, appendfsync always), every handler adding 1 to its message's
counter in the database inside ``idempotent``. At the end every counter is exactly 1: no
message lost, no effect repeated, while the deliveries skipped as already processed are
reported. On SQLite and on PostgreSQL. ``make chaos`` runs the full run (50 000 messages);
a reduced one is in ``make test``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from queues import Manager
from tests.support.once_worker import GROUP
from tests.support.redis_process import RedisServer, wait_for
from tests.test_chaos import Fleet

ROOT = Path(__file__).resolve().parents[1]
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


def once_worker(*args: str, log: IO[bytes] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.once_worker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log if log is not None else subprocess.DEVNULL,
    )


def once_call(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.once_worker", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@dataclass
class OnceFleet(Fleet):
    database_url: str = ""
    log: IO[bytes] | None = None

    def kill_busy_consumer(self, busy: set[str], *, anyone: bool) -> None:
        """SIGKILL a consumer that holds messages (killing one still starting up tests
        nothing); with ``anyone``, any consumer when none holds messages."""
        candidates = sorted(busy & set(self.consumers))
        if not candidates and anyone:
            candidates = sorted(self.consumers)
        if not candidates:
            return
        proc = self.consumers.pop(random.choice(candidates))
        proc.kill()
        proc.wait()
        self.kills += 1
        self.start_consumer()

    def start_consumer(self) -> None:
        name = f"once-{uuid.uuid4().hex[:6]}"
        self.consumers[name] = once_worker(
            "consume", self.database_url, self.url, self.queue, name, "guarded", log=self.log
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def once_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the run's own that every worker process opens."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'once.sqlite3'}"
        return
    psycopg = pytest.importorskip("psycopg")
    env = os.environ.get("DATABASE_URL", "")
    admin = env if env.startswith("postgres") else PG_DEFAULT
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {admin}: {exc}")
    name = f"sw_once_chaos_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def run_once_chaos(
    server: RedisServer,
    database_url: str,
    log_path: Path,
    *,
    messages: int,
    producers: int,
    consumers: int,
    kills: int,
) -> dict[str, Any]:
    url, queue = server.url, f"once-{uuid.uuid4().hex[:6]}"
    assert "ready" in once_call("setup", database_url)
    manager = Manager(redis=url)
    manager.create_group(queue, GROUP, start="0")
    per_producer = messages // producers
    expected = {f"{p}:{s}" for p in range(producers) for s in range(per_producer)}
    started = time.monotonic()
    with log_path.open("ab") as log:
        fleet = OnceFleet(url, queue, database_url=database_url, log=log)
        try:
            for _ in range(consumers):
                fleet.start_consumer()
            for number in range(producers):
                fleet.start_producer(number, per_producer)

            def progress() -> tuple[float, set[str]]:
                """Share handled, and the consumers holding messages now (mid-work)."""
                info = manager.info(queue)
                group = info.group(GROUP)
                busy = {c.name for c in group.consumers if c.pending}
                return (info.length - (group.lag or 0) - group.pending) / len(expected), busy

            restarted = False
            while fleet.kills < kills or not restarted or not fleet.producers_done():
                time.sleep(random.uniform(0.2, 0.6))
                done, busy = wait_for(lambda: [progress()], 30, message="redis answers")[0]
                if fleet.kills < kills:
                    # only mid-work, until the end comes near (the loop must end)
                    fleet.kill_busy_consumer(busy, anyone=done > 0.95)
                if not restarted and done > 0.3:
                    server.kill()  # a crash: appendfsync always keeps every acknowledged write
                    time.sleep(0.5)  # clients see a real outage
                    server.start()
                    restarted = True
                if time.monotonic() - started > 900:
                    raise AssertionError("chaos run took more than 15 minutes")
            for proc in fleet.producers:
                assert proc.returncode == 0

            def settled() -> bool:
                info = manager.info(queue)
                group = info.group(GROUP)
                return group.lag == 0 and group.pending == 0 and info.delayed == 0

            wait_for(settled, 300, interval=0.5, message="every message handled")
        finally:
            fleet.close()

    outcome = json.loads(once_call("report", database_url))
    counts: dict[str, int] = outcome["effects"]
    info = manager.info(queue)
    summary = {
        "database": database_url.split(":", 1)[0],
        "published": len(expected),
        "lost": len(expected - set(counts)),
        "duplicate_effects": sum(n - 1 for n in counts.values() if n > 1),
        "records": outcome["records"],
        "duplicate_deliveries": info.group(GROUP).duplicates,
        "dead_lettered": info.dead,
        "claims": sum(1 for e in manager.events(count=100_000, queue=queue) if e.type == "claimed"),
        "kills": fleet.kills,
        "redis_restarts": 1,
        "seconds": round(time.monotonic() - started, 1),
    }
    print("\nONCE CHAOS SUMMARY " + " ".join(f"{k}={v}" for k, v in summary.items()))
    assert summary["lost"] == 0, (
        f"messages with no effect, e.g. {sorted(expected - set(counts))[:5]}"
    )
    assert set(counts) == expected
    assert all(n == 1 for n in counts.values()), {k: n for k, n in counts.items() if n != 1}
    assert summary["records"] == len(expected)
    return summary


@pytest.mark.chaos
def test_reduced_effectively_once_chaos_run_has_one_effect_per_message(
    make_redis_server, once_database, tmp_path
):
    server = make_redis_server(appendonly=True, appendfsync="always")
    summary = run_once_chaos(
        server,
        once_database,
        tmp_path / "workers.log",
        messages=3_000,
        producers=2,
        consumers=3,
        kills=4,
    )
    assert summary["duplicate_effects"] == 0


@pytest.mark.chaos_full
def test_full_effectively_once_chaos_run_has_one_effect_per_message(
    make_redis_server, once_database, tmp_path
):
    server = make_redis_server(appendonly=True, appendfsync="always")
    summary = run_once_chaos(
        server,
        once_database,
        tmp_path / "workers.log",
        messages=50_000,
        producers=4,
        consumers=6,
        kills=24,
    )
    assert summary["duplicate_effects"] == 0 and summary["kills"] >= 20
