"""Real claims for tests, made by the library itself.

A child process runs a library Consumer whose handler hangs, so it holds messages; the test
SIGKILLs it, and a rescuer Consumer (short ``claim_idle``) claims them, which writes one
``claimed`` event per message to the queue's events stream in the same atomic step.
Every URL form of the library works (single server, ``redis+sentinel://``, ``redis+cluster://``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from queues import Consumer, Producer
from queues.connection import connect
from queues.keys import queue_keys
from tests.support.redis_process import wait_for

HOLDER = r"""
import sys, threading, time
from queues import Consumer
url, queue, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
started = []
lock = threading.Lock()

def hang(message):
    with lock:
        started.append(message.id)
        if len(started) == count:
            print(count, flush=True)
    time.sleep(3600)  # "processing" until SIGKILL

Consumer(queue, group, handler=hang, redis=url, name="doomed-worker",
         concurrency=count, batch_size=count, claim_idle=1.0).run()
"""


def stream_key(queue: str) -> str:
    return queue_keys(queue).stream


def events_key(queue: str) -> str:
    return queue_keys(queue).events


def publish(redis_url: str, queue: str, count: int) -> list[str]:
    producer = Producer(queue, redis=redis_url)
    try:
        return producer.publish_many([{"n": i} for i in range(count)])
    finally:
        producer.close()


def kill_consumer_holding(redis_url: str, queue: str, group: str, count: int) -> None:
    """Start a library consumer that takes ``count`` messages, SIGKILL it while it holds them."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, redis_url, queue, group, str(count)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == str(count), "holder did not take the messages"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    client = connect(redis_url)
    wait_for(lambda: client.xpending(stream_key(queue), group)["pending"] == count)
    client.close()


def claim_all(redis_url: str, queue: str, group: str, *, claim_idle: float = 0.3) -> list[str]:
    """A rescuer library Consumer claims every message the dead one held; the ids it handled."""
    handled: list[str] = []
    rescuer = Consumer(
        queue,
        group,
        handler=lambda message: handled.append(message.id),
        redis=redis_url,
        name="rescuer",
        claim_idle=claim_idle,
        handle_signals=False,
    )
    client = connect(redis_url)
    try:
        # Claimable once idle: the SIGKILLed holder's heartbeat no longer touches them.
        wait_for(
            lambda: all(
                p["time_since_delivered"] >= claim_idle * 1000 + 50
                for p in client.xpending_range(stream_key(queue), group, "-", "+", 1000)
            ),
            timeout=10,
        )
        rescuer.run(burst=True)
    finally:
        rescuer.close()
        client.close()
    return handled
