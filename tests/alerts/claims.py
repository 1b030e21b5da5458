"""Real claims for tests, made the way the library makes them (until its Consumer is used).

A child process reads messages through a consumer group and is SIGKILLed while holding them;
a claimer then XCLAIMs them and writes one ``claimed`` event per message to the queue's events
stream in the library's format (library-design.md "Events").
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import redis

from tests.redis_process import wait_for

HOLDER = r"""
import sys, time, redis
client = redis.Redis.from_url(sys.argv[1])
stream, group, count = sys.argv[2], sys.argv[3], int(sys.argv[4])
got = client.xreadgroup(group, "doomed-worker", {stream: ">"}, count=count)
print(len(got[0][1]) if got else 0, flush=True)
time.sleep(3600)  # "processing" forever, until SIGKILL
"""


def stream_key(queue: str) -> str:
    return f"sw:{{{queue}}}:stream"


def events_key(queue: str) -> str:
    return f"sw:{{{queue}}}:events"


def publish(client: redis.Redis, queue: str, count: int) -> list[str]:
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        pipe.xadd(stream_key(queue), {"payload": f'{{"n": {i}}}', "ctype": "json"})
    return [i.decode() for i in pipe.execute()]


def kill_consumer_holding(redis_url: str, queue: str, group: str, count: int) -> None:
    """Start a worker that takes ``count`` messages, then SIGKILL it while it holds them."""
    client = redis.Redis.from_url(redis_url)
    client.xgroup_create(stream_key(queue), group, id="0", mkstream=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, redis_url, stream_key(queue), group, str(count)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert int(proc.stdout.readline()) == count
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    wait_for(lambda: client.xpending(stream_key(queue), group)["pending"] == count)


def claim_all(
    redis_url: str, queue: str, group: str, *, new_owner: str = "rescuer", min_idle_ms: int = 0
) -> list[str]:
    """XCLAIM every pending entry of ``group`` and emit one claimed event each; claimed ids."""
    client = redis.Redis.from_url(redis_url)
    claimed: list[str] = []
    while True:
        pending = client.xpending_range(
            stream_key(queue), group, min="-", max="+", count=500, idle=min_idle_ms
        )
        pending = [p for p in pending if p["consumer"].decode() != new_owner]
        if not pending:
            return claimed
        for entry in pending:
            msg_id = entry["message_id"].decode()
            got = client.xclaim(stream_key(queue), group, new_owner, min_idle_ms, [msg_id])
            if not got:
                continue
            claimed.append(msg_id)
            client.xadd(
                events_key(queue),
                {
                    "type": "claimed",
                    "queue": queue,
                    "group": group,
                    "id": msg_id,
                    "previous_owner": entry["consumer"].decode(),
                    "new_owner": new_owner,
                    "idle_ms": str(entry["time_since_delivered"]),
                    "deliveries": str(entry["times_delivered"] + 1),
                    "time": str(int(time.time() * 1000)),
                },
                maxlen=10000,
                approximate=True,
            )
