"""python -m queues: every subcommand end to end in a subprocess, as text and as --json.

Exit status: 0 done (health ok), 1 failed (unknown queue, Redis unavailable, health not ok),
2 bad command line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading

import pytest
import redis

from queues import Consumer, Manager, Producer
from queues.keys import queue_keys
from tests.queues.conftest import FAST, REPO, wait_for


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "queues", "--redis", url, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
    )


def fail(message: object) -> None:
    raise RuntimeError("nope")


@pytest.fixture
def dead_queue(redis_url: str, queue_name: str, producer: Producer) -> str:
    """A queue with group "billing" and two dead letters."""
    producer.publish_many([{"n": 1}, {"n": 2}])
    Consumer(queue_name, "billing", fail, redis_url, max_deliveries=1, **FAST).run(burst=True)
    return queue_name


def test_info_and_groups_as_tables_and_json(redis_url: str, dead_queue: str) -> None:
    info = cli(redis_url, "info", dead_queue)
    assert info.returncode == 0, info.stderr
    assert f"queue {dead_queue}: length 2" in info.stdout
    assert "group" in info.stdout.splitlines()[2] and "billing" in info.stdout
    data = json.loads(cli(redis_url, "--json", "info", dead_queue).stdout)
    assert data["name"] == dead_queue and data["dead"] == 2

    groups = cli(redis_url, "groups", dead_queue)
    assert groups.returncode == 0 and groups.stdout.split()[0] == "group"
    assert [
        g["name"] for g in json.loads(cli(redis_url, "--json", "groups", dead_queue).stdout)
    ] == ["billing"]


def test_info_shows_each_groups_duplicate_deliveries(
    redis_url: str, dead_queue: str, redis_client: redis.Redis
) -> None:
    """Deliveries not run again (already processed, or running elsewhere) per group, as the
    dashboard shows them: a figure the consumers count, not one to read off the stream."""
    redis_client.hset(queue_keys(dead_queue).duplicates, "billing", 3)
    out = cli(redis_url, "info", dead_queue)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    header = lines[2].split()
    (row,) = [line.split() for line in lines[3:] if line.startswith("billing ")]
    assert "duplicates" in header
    # "oldest pending" is two words in the header, so count from the front
    assert row[header.index("duplicates")] == "3"
    data = json.loads(cli(redis_url, "--json", "info", dead_queue).stdout)
    assert [g["duplicates"] for g in data["groups"]] == [3]


def test_pending_lists_entries(redis_url: str, queue_name: str, producer: Producer) -> None:
    [entry_id] = producer.publish_many(["x"])
    Manager(redis=redis_url).create_group(queue_name, "g", start="0")
    import redis as redis_py

    redis_py.Redis.from_url(redis_url).xreadgroup(
        "g", "ghost", {queue_keys(queue_name).stream: ">"}
    )
    table = cli(redis_url, "pending", queue_name, "g")
    assert table.returncode == 0 and entry_id in table.stdout and "ghost" in table.stdout
    [row] = json.loads(cli(redis_url, "--json", "pending", queue_name, "g").stdout)
    assert (row["id"], row["consumer"], row["deliveries"]) == (entry_id, "ghost", 1)


def test_dlq_list_replay_and_delete(redis_url: str, dead_queue: str) -> None:
    listed = cli(redis_url, "dlq", dead_queue)
    assert listed.returncode == 0 and listed.stdout.count("RuntimeError: nope") == 2
    dead = json.loads(cli(redis_url, "--json", "dlq", dead_queue).stdout)
    assert [d["error"] for d in dead] == ["RuntimeError: nope"] * 2

    replay = cli(redis_url, "--json", "dlq", dead_queue, "--replay", "--ids", dead[0]["id"])
    assert replay.returncode == 0 and json.loads(replay.stdout) == {"replayed": 1}
    deleted = cli(redis_url, "dlq", dead_queue, "--delete")
    assert deleted.returncode == 0 and deleted.stdout.strip() == "deleted: 1"
    assert json.loads(cli(redis_url, "--json", "dlq", dead_queue).stdout) == []


def test_queues_and_groups_are_created_and_deleted(redis_url: str, queue_name: str) -> None:
    assert cli(redis_url, "create", queue_name).returncode == 0
    assert queue_name in cli(redis_url, "queues").stdout
    assert json.loads(cli(redis_url, "--json", "queues").stdout) == [queue_name]
    made = cli(redis_url, "--json", "create-group", queue_name, "g", "--start", "0")
    assert made.returncode == 0 and json.loads(made.stdout) == {"created": "g"}
    assert cli(redis_url, "delete-group", queue_name, "g").returncode == 0
    again = cli(redis_url, "delete-group", queue_name, "g")
    assert again.returncode == 1 and "no group 'g'" in again.stderr

    refused = cli(redis_url, "delete", queue_name)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert cli(redis_url, "delete", queue_name, "--yes").returncode == 0
    assert json.loads(cli(redis_url, "--json", "queues").stdout) == []


def test_health_exits_1_when_not_ok_or_nagios_style(redis_url: str, dead_queue: str) -> None:
    alert = cli(redis_url, "health", dead_queue, "--thresholds", '{"dead": [1, 2]}')
    assert alert.returncode == 1 and "alert" in alert.stdout
    nagios = cli(redis_url, "health", dead_queue, "--nagios", "--thresholds", '{"dead": [1, 2]}')
    assert nagios.returncode == 2
    relaxed = '{"dead": [5, 10], "active_consumers": [null, null]}'
    ok = cli(redis_url, "--json", "health", dead_queue, "--thresholds", relaxed)
    assert ok.returncode == 0 and json.loads(ok.stdout)["status"] == "ok"


def test_events_then_follow_prints_new_ones_until_interrupted(
    redis_url: str, dead_queue: str, producer: Producer
) -> None:
    recent = json.loads(
        "["
        + ",".join(
            cli(redis_url, "--json", "events", "--queue", dead_queue).stdout.split("\n")[:-1]
        )
        + "]"
    )
    assert {e["type"] for e in recent} >= {"group_created", "dead_lettered"}
    follow = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "queues",
            "--redis",
            redis_url,
            "events",
            "--follow",
            "--count",
            "0",
            "--queue",
            dead_queue,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(follow.stdout or []), daemon=True).start()
    try:
        assert follow.stderr is not None
        assert follow.stderr.readline().startswith("following events of"), "follow started"
        Consumer(dead_queue, "billing", fail, redis_url, max_deliveries=1, **FAST).run(burst=True)
        producer.publish({"n": 3})
        Consumer(dead_queue, "billing", fail, redis_url, max_deliveries=1, **FAST).run(burst=True)
        wait_for(lambda: any("dead_lettered" in line for line in lines), 10, message="followed")
    finally:
        follow.send_signal(signal.SIGINT)
        assert follow.wait(10) == 0


def test_an_unknown_queue_is_a_clear_error_and_exit_1(redis_url: str) -> None:
    for args in (
        ["info", "no-such-queue"],
        ["--json", "groups", "no-such-queue"],
        ["pending", "no-such-queue", "g"],
        ["dlq", "no-such-queue"],
        ["events", "--queue", "no-such-queue"],
    ):
        result = cli(redis_url, *args)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.startswith("error: no queue 'no-such-queue'"), result.stderr


def test_a_bad_command_line_exits_2_and_an_unreachable_redis_1(redis_url: str) -> None:
    assert cli(redis_url, "frobnicate").returncode == 2
    bad_url = cli("nonsense://", "queues")
    assert bad_url.returncode == 2 and "invalid Redis URL" in bad_url.stderr
    down = cli("redis://127.0.0.1:1/0", "queues")
    assert down.returncode == 1 and down.stderr.startswith("error: Redis at 127.0.0.1:1")


def test_global_options_are_accepted_after_the_subcommand_too(
    redis_url: str, dead_queue: str
) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "queues", *args],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=30,
            env={"PATH": "/usr/bin:/bin", "REDIS_URL": "redis://127.0.0.1:1/0"},
        )

    # as people type them: the subcommand first, then --json and --redis, in any order
    for args in (
        ["info", dead_queue, "--json", "--redis", redis_url],
        ["info", "--redis", redis_url, dead_queue, "--json"],
        ["--redis", redis_url, "info", dead_queue, "--json"],
        ["--json", "info", dead_queue, "--redis", redis_url],
    ):
        result = run(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert json.loads(result.stdout)["dead"] == 2, args
    # given after the subcommand, --redis wins over the one before it and over $REDIS_URL
    result = run("--redis", "redis://127.0.0.1:1/0", "groups", dead_queue, "--redis", redis_url)
    assert result.returncode == 0 and "billing" in result.stdout, result.stderr
    # without --json after the subcommand the output stays text
    text_out = run("info", dead_queue, "--redis", redis_url)
    assert text_out.returncode == 0 and text_out.stdout.startswith(f"queue {dead_queue}:")
    # a global option still takes its value: a missing one is a usage error
    assert run("info", dead_queue, "--redis").returncode == 2


def test_delete_consumer_hands_its_pending_entries_over(
    redis_url: str, queue_name: str, producer: Producer, redis_client
) -> None:
    producer.publish_many([1, 2])
    Manager(redis=redis_url).create_group(queue_name, "g", start="0")
    stream = queue_keys(queue_name).stream
    redis_client.xreadgroup("g", "holder", {stream: ">"}, count=2)
    refused = cli(redis_url, "delete-consumer", queue_name, "g", "holder")
    assert refused.returncode == 1 and "2 pending entries" in refused.stderr
    done = cli(
        redis_url, "--json", "delete-consumer", queue_name, "g", "holder", "--hand-to", "heir"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"handed_pending": 2, "to": "heir"}
    owners = redis_client.xpending(stream, "g")["consumers"]
    assert [(c["name"].decode(), c["pending"]) for c in owners] == [("heir", 2)]
