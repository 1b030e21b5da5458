"""Fixtures of the library tests: real redis-server (tests/conftest.py), consumers run in
threads or in child processes, and a thread-safe recorder of handled messages."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from queues import Consumer, Manager, Message, Producer
from tests.support.redis_process import wait_for

REPO = Path(__file__).resolve().parents[2]

#: Consumer settings that keep the suite fast: short blocking reads, quick ack flushes.
FAST: dict[str, Any] = {"block_ms": 100, "ack_interval": 0.02, "backoff_jitter": 0.0}


class Recorder:
    """Thread-safe record of what handlers saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[Message] = []
        self.times: list[float] = []

    def __call__(self, message: Message) -> None:
        with self.lock:
            self.messages.append(message)
            self.times.append(time.monotonic())

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def ids(self) -> Counter[str]:
        with self.lock:
            return Counter(m.id for m in self.messages)

    def payloads(self) -> list[Any]:
        with self.lock:
            return [m.payload for m in self.messages]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def manager(redis_url: str) -> Iterator[Manager]:
    m = Manager(redis=redis_url)
    yield m
    m.close()


@pytest.fixture
def producer(redis_url: str, queue_name: str) -> Iterator[Producer]:
    p = Producer(queue_name, redis=redis_url)
    yield p
    p.close()


class Runner:
    """Runs consumers in background threads; the test tears them all down and fails if a
    run() raised."""

    def __init__(self) -> None:
        self.started: list[tuple[Consumer, threading.Thread]] = []
        self.errors: list[BaseException] = []

    def start(self, consumer: Consumer, *, burst: bool = False) -> Consumer:
        def target() -> None:
            try:
                consumer.run(burst=burst)
            except BaseException as exc:  # noqa: BLE001 - reported by the fixture
                self.errors.append(exc)

        thread = threading.Thread(target=target, name=f"run-{consumer.name}", daemon=True)
        thread.start()
        self.started.append((consumer, thread))
        return consumer

    def stop_all(self, timeout: float = 15.0) -> None:
        for consumer, _ in self.started:
            consumer.stop()
        for consumer, thread in self.started:
            thread.join(timeout)
            assert not thread.is_alive(), f"{consumer!r} did not stop within {timeout}s"
            consumer.close()
        self.started.clear()


def start_thief(runner: Runner, queue: str, redis_url: str, claim_idle: float) -> Recorder:
    """A second consumer of group "g" that claims whatever goes idle, scanning every 50 ms:
    it must get nothing from a live consumer."""
    thief = Recorder()
    runner.start(
        Consumer(
            queue,
            "g",
            thief,
            redis_url,
            name="thief",
            claim_idle=claim_idle,
            claim_interval=0.05,
            **FAST,
        )
    )
    return thief


@pytest.fixture
def runner() -> Iterator[Runner]:
    r = Runner()
    try:
        yield r
    finally:
        r.stop_all()
    assert not r.errors, f"consumer run() raised: {r.errors!r}"


class Child:
    """A Python child process running a consumer script."""

    def __init__(self, proc: subprocess.Popen[str], log: Path) -> None:
        self.proc = proc
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[[str], Child]]:
    """Start ``sys.executable`` on a script (dedented); all children are killed afterwards."""
    children: list[Child] = []

    def start(script: str) -> Child:
        index = len(children)
        path = tmp_path / f"child_{index}.py"
        path.write_text(textwrap.dedent(script))
        log = tmp_path / f"child_{index}.log"
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, str(path)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                text=True,
            )
        child = Child(proc, log)
        children.append(child)
        return child

    yield start
    for child in children:
        if child.proc.poll() is None:
            child.proc.kill()
        child.proc.wait(10)


def group_state(client: redis.Redis, stream: str, group: str) -> dict[str, Any]:
    """The group's XINFO GROUPS row (pending, lag, entries-read, ...)."""
    for row in client.xinfo_groups(stream):
        if row["name"].decode() == group:
            return row
    raise KeyError(group)


__all__ = ["FAST", "Recorder", "Runner", "group_state", "wait_for"]
