"""python -m queues: the Manager on the command line."""

from __future__ import annotations

import json
import subprocess
import sys

from queues import Consumer, Producer
from tests.queues.conftest import FAST, REPO


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "queues", "--redis", url, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
    )


def test_info_pending_dlq_and_health_on_the_command_line(
    redis_url: str, queue_name: str, producer: Producer
) -> None:
    producer.publish_many([{"n": 1}, {"n": 2}])

    def fail(message: object) -> None:
        raise RuntimeError("nope")

    Consumer(queue_name, "billing", fail, redis_url, max_deliveries=1, **FAST).run(burst=True)

    info = cli(redis_url, "info", queue_name)
    assert info.returncode == 0, info.stderr
    assert f"queue {queue_name}: length 2" in info.stdout and "group billing" in info.stdout

    listed = cli(redis_url, "--json", "dlq", queue_name)
    dead = json.loads(listed.stdout)
    assert [d["error"] for d in dead] == ["RuntimeError: nope"] * 2

    health = cli(redis_url, "health", queue_name, "--thresholds", '{"dead": [1, 2]}')
    assert health.returncode == 2 and "alert" in health.stdout  # Nagios-style exit code

    replay = cli(redis_url, "dlq", queue_name, "--replay")
    assert json.loads(replay.stdout) == {"replayed": 2}
    assert queue_name in cli(redis_url, "queues").stdout


def test_errors_are_one_line_and_exit_3(redis_url: str) -> None:
    result = cli(redis_url, "info", "no-such-queue")
    assert result.returncode == 3
    assert result.stderr.startswith("error: no queue 'no-such-queue'")
    bad = cli("nonsense://", "queues")
    assert bad.returncode == 3 and "invalid Redis URL" in bad.stderr
