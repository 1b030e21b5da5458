"""A monitor SIGKILLed in the middle of ingesting a claim storm duplicates and loses nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from alerts.ingest import GROUP, events_key
from tests.support.redis_process import wait_for

pytestmark = pytest.mark.chaos

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 4000

INGESTER = """
from alerts.ingest import ingest_events
while True:
    ingest_events(redis_url={url!r}, queues=[{queue!r}], consumer_name="monitor-1")
"""


def _rows(db: Path) -> int:
    with sqlite3.connect(db, timeout=5) as conn:
        return int(conn.execute("select count(*) from alerts_alert").fetchone()[0])


def test_ingester_killed_mid_storm_and_restarted_gives_each_claim_one_row(
    tmp_path: Path, redis_url: str, queue_name: str
) -> None:
    db = tmp_path / "chaos.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings.test",
        "DATABASE_URL": f"sqlite:///{db}",
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    client = redis.Redis.from_url(redis_url)
    pipe = client.pipeline(transaction=False)
    for i in range(EVENTS):
        pipe.xadd(
            events_key(queue_name),
            {"type": "claimed", "queue": queue_name, "group": "g", "id": f"{i + 1}-0"},
        )
    pipe.execute()

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*manage, "shell", "-c", INGESTER.format(url=redis_url, queue=queue_name)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )

    first = start()
    try:
        wait_for(lambda: _rows(db) > 0, timeout=30, interval=0.005, message="ingestion started")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    at_kill = _rows(db)
    print(f"killed the ingester with {at_kill} of {EVENTS} rows committed")
    assert at_kill < EVENTS, "the storm was ingested before the kill; raise EVENTS"

    second = start()
    try:
        wait_for(lambda: _rows(db) >= EVENTS, timeout=60, message="restart ingests the rest")
        wait_for(lambda: client.xpending(events_key(queue_name), GROUP)["pending"] == 0)
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait(10)
    with sqlite3.connect(db) as conn:
        total, distinct = conn.execute(
            "select count(*), count(distinct message_id) from alerts_alert where kind='claimed'"
        ).fetchone()
    assert (total, distinct) == (EVENTS, EVENTS)
