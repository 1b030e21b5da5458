"""Two `manage.py monitor` processes against one Redis and one database: exactly one polls;
SIGKILL it and the other takes over within the lease time.

Observed only from outside: the lease row (its holder carries the holder's pid) and the
rows the monitor writes (MonitorState, MetricSnapshot) in a throwaway SQLite file.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from dashboard.monitor.lease import LEASE_KEY
from tests.support.queue_data import create_group, publish
from tests.support.redis_process import RedisServer, wait_for

pytestmark = pytest.mark.chaos

ROOT = Path(__file__).resolve().parents[2]
POLL = 0.2
LEASE_TTL = 1.5


def _env(db: Path, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings.test",
        "DATABASE_URL": f"sqlite:///{db}",
        "REDIS_URL": redis_url,
        "STREAMWARDEN_POLL_INTERVAL": str(POLL),
        "STREAMWARDEN_LEASE_TTL": str(LEASE_TTL),
        "STREAMWARDEN_SNAPSHOT_INTERVAL": "0",  # one snapshot row per polled cycle
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def two_monitors(
    tmp_path: Path, private_redis: RedisServer, queue_name: str
) -> Iterator[tuple[dict[int, subprocess.Popen[bytes]], Path, RedisServer]]:
    db = tmp_path / "monitors.sqlite3"
    env = _env(db, private_redis.url)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO queues_queuedefinition "
            "(name, queue, stream, redis_url, groups, notes, enabled, created_at, updated_at) "
            "VALUES ('orders', ?, '', '', '[]', '', 1, datetime('now'), datetime('now'))",
            (queue_name,),
        )
    publish(private_redis.url, queue_name, [{"n": i} for i in range(5)])
    create_group(private_redis.url, queue_name, "billing")
    procs: dict[int, subprocess.Popen[bytes]] = {}
    for name in ("alpha", "beta"):
        proc = subprocess.Popen(
            [*manage, "monitor", "--interval", str(POLL), "--name", name],
            cwd=ROOT,
            env=env,
            stdout=open(tmp_path / f"{name}.log", "wb"),  # noqa: SIM115 - lives with the child
            stderr=subprocess.STDOUT,
        )
        procs[proc.pid] = proc
    try:
        yield procs, db, private_redis
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for log in tmp_path.glob("*.log"):
            tail = log.read_text(errors="replace")[-3000:]
            if "Traceback" in tail:
                print(f"--- {log.name}\n{tail}")


def _lease(db: Path) -> tuple[int, float] | None:
    """(pid of the holder, seconds left) of the unexpired lease row, if any."""
    with sqlite3.connect(db, timeout=5) as conn:
        row = conn.execute(
            "SELECT holder, expires_at FROM dashboard_monitorlease WHERE key = ?", (LEASE_KEY,)
        ).fetchone()
    if row is None:
        return None
    left = (datetime.fromisoformat(row[1]) - datetime.utcnow()).total_seconds()  # noqa: DTZ003
    return (int(row[0].split(":")[1]), left) if left > 0 else None


def _lease_pid(db: Path) -> int | None:
    lease = _lease(db)
    return lease[0] if lease else None


def _state(db: Path) -> tuple[str, int, int]:
    """(holder, polled cycles, snapshot rows) as the database shows them."""
    with sqlite3.connect(db, timeout=5) as conn:
        row = conn.execute(
            "SELECT holder, cycles FROM dashboard_monitorstate WHERE key = 'monitor'"
        ).fetchone()
        rows = conn.execute("SELECT COUNT(*) FROM dashboard_metricsnapshot").fetchone()[0]
    return (row[0], int(row[1]), int(rows)) if row else ("", 0, int(rows))


def test_of_two_monitor_processes_exactly_one_polls_and_a_sigkill_hands_over_in_the_lease_time(
    two_monitors,
):
    procs, db, server = two_monitors
    wait_for(lambda: _state(db)[1] >= 3, timeout=20, message="a monitor polls")
    holder_pid = _lease_pid(db)
    assert holder_pid in procs
    holder_name, cycles_before, rows_before = _state(db)

    # For a while: the lease stays with one process, only it reports, and the number of
    # stored snapshots grows exactly with its polled cycles (a second poller would add more).
    wait_for(lambda: _state(db)[1] >= cycles_before + 10, timeout=10, message="keeps polling")
    holder_after, cycles_after, rows_after = _state(db)
    assert _lease_pid(db) == holder_pid
    assert holder_after == holder_name
    assert rows_after - rows_before == cycles_after - cycles_before

    standby_pid = next(pid for pid in procs if pid != holder_pid)
    lease_left = (_lease(db) or (0, 0.0))[1]  # what the last renewal left
    killed_at = time.monotonic()
    os.kill(holder_pid, signal.SIGKILL)
    procs[holder_pid].wait(5)

    wait_for(
        lambda: _lease_pid(db) == standby_pid,
        timeout=LEASE_TTL + 2 * POLL + 1.0,
        interval=0.02,
        message="the standby took the lease",
    )
    takeover = time.monotonic() - killed_at
    print(
        f"\nmonitor takeover after SIGKILL: {takeover:.2f} s (lease ttl {LEASE_TTL} s, "
        f"{lease_left:.2f} s of it left at the kill)"
    )
    # Within the lease time: once the lease the dead holder last renewed expires, the
    # standby takes it at its next tick (one poll interval; the rest is process jitter).
    assert takeover <= lease_left + 2 * POLL + 0.3
    assert takeover <= LEASE_TTL + 2 * POLL + 0.3

    # ... and it really polls: it reports in its own name and stores snapshots again.
    _, cycles_killed, rows_killed = _state(db)
    wait_for(lambda: _state(db)[0] not in ("", holder_name), timeout=5, message="new holder")
    wait_for(lambda: _state(db)[2] >= rows_killed + 3, timeout=5, message="snapshots resume")
    assert procs[standby_pid].poll() is None
