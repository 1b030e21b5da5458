"""Two Daphne processes and two monitors against one Redis (lease + channels-redis): a
websocket client, and a real Chromium page, on either web server sees live updates, and
when the active monitor is SIGKILLed the updates resume within the lease time (the standby
takes over)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import websockets

from dashboard.monitor.lease import LEASE_KEY
from queues import Manager, Producer
from tests.support.live_stack import launch_chromium, require_chromium
from tests.support.redis_process import RedisServer, free_port, wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
POLL = 0.2
LEASE_TTL = 1.5

SETUP = """
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import get_user_model
from dashboard.catalog.models import QueueDefinition
user = get_user_model().objects.create_superuser("ops", "", "web-failover-pw-1")
QueueDefinition.objects.create(name="orders", queue={queue!r})
session = import_module(settings.SESSION_ENGINE).SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print("SESSION", session.session_key)
"""


@dataclass
class Web:
    ports: list[int]
    monitors: dict[int, subprocess.Popen[bytes]]  # pid -> process
    session: str
    queue: str
    redis: RedisServer
    logs: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)


@pytest.fixture
def web(tmp_path: Path, make_redis_server: Callable[..., RedisServer]) -> Iterator[Web]:
    redis_server = make_redis_server()
    queue = f"q-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'web.sqlite3'}",
        "REDIS_URL": redis_server.url,
        "STREAMWARDEN_POLL_INTERVAL": str(POLL),
        "STREAMWARDEN_LEASE_TTL": str(LEASE_TTL),
        "STREAMWARDEN_SNAPSHOT_INTERVAL": "0",
        "LOG_LEVEL": "WARNING",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    out = subprocess.run(
        [*manage, "shell", "-c", SETUP.format(queue=queue)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    session = out.split("SESSION", 1)[1].split()[0]
    logs = tmp_path / "logs"
    logs.mkdir()
    daphne = str(Path(sys.executable).with_name("daphne"))
    ports = [free_port(), free_port()]
    procs: list[subprocess.Popen[bytes]] = []
    monitors: dict[int, subprocess.Popen[bytes]] = {}

    def spawn(name: str, args: list[str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=open(logs / f"{name}.log", "wb"),  # noqa: SIM115 - lives with the child
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    try:
        for port in ports:
            spawn(
                f"daphne-{port}",
                [daphne, "-b", "127.0.0.1", "-p", str(port), "dashboard.asgi:application"],
            )
        for name in ("alpha", "beta"):
            proc = spawn(name, [*manage, "monitor", "--interval", str(POLL), "--name", name])
            monitors[proc.pid] = proc
        for port in ports:
            wait_for(
                lambda p=port: (
                    urllib.request.urlopen(f"http://127.0.0.1:{p}/health", timeout=1).status == 200
                ),
                20,
                message=f"daphne on {port} answers",
            )
        yield Web(ports, monitors, session, queue, redis_server, logs, procs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for log in logs.iterdir():
            tail = log.read_text(errors="replace")[-3000:]
            if "Traceback" in tail:
                print(f"--- {log.name}\n{tail}")


Inbox = list[tuple[float, dict[str, Any]]]


async def _listen(ws: websockets.ClientConnection, inbox: Inbox) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for message in ws:
            inbox.append((time.monotonic(), json.loads(message)))


def _lengths(inbox: Inbox, queue: str, since: float = 0.0) -> list[int]:
    return [
        q["length"]
        for at, m in inbox
        if at >= since and m.get("type") == "queue.update"
        for q in m["data"]["queues"]
        if q["queue"] == queue
    ]


async def _eventually(predicate: Callable[[], bool], timeout: float, message: str) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout}s: {message}")
        await asyncio.sleep(0.02)
    return time.monotonic()


def _lease_pid(logs: Path) -> int | None:
    """The pid of the monitor holding an unexpired lease (its row in the stack's database)."""
    with sqlite3.connect(logs.parent / "web.sqlite3", timeout=10) as db:
        row = db.execute(
            "SELECT holder, expires_at FROM dashboard_monitorlease WHERE key = ?", (LEASE_KEY,)
        ).fetchone()
    if row is None or datetime.fromisoformat(row[1]) <= datetime.utcnow():  # noqa: DTZ003
        return None
    return int(row[0].split(":")[1])


async def test_either_web_server_pushes_live_updates_and_they_resume_after_the_monitor_dies(
    web: Web,
) -> None:
    producer = Producer(web.queue, redis=web.redis.url)
    Manager(redis=web.redis.url).create_group(web.queue, "billing", start="0")
    inboxes: list[Inbox] = [[], []]
    sockets = [
        await websockets.connect(
            f"ws://127.0.0.1:{port}/ws/live/",
            additional_headers={
                "Cookie": f"sessionid={web.session}",
                "Origin": f"http://127.0.0.1:{port}",
            },
        )
        for port in web.ports
    ]
    readers = [
        asyncio.create_task(_listen(ws, inbox)) for ws, inbox in zip(sockets, inboxes, strict=True)
    ]
    try:
        producer.publish_many(list(range(5)))
        for inbox in inboxes:
            await _eventually(lambda i=inbox: 5 in _lengths(i, web.queue), 10, "length 5 pushed")

        holder = _lease_pid(web.logs)
        assert holder in web.monitors
        standby = next(pid for pid in web.monitors if pid != holder)
        killed_at = time.monotonic()
        os.kill(holder, signal.SIGKILL)
        web.monitors[holder].wait(5)
        producer.publish_many(list(range(3)))  # length 8: only a live monitor can tell

        resumed = [
            await _eventually(
                lambda i=inbox: 8 in _lengths(i, web.queue, killed_at),
                LEASE_TTL + 5,
                "updates resume after the active monitor was killed",
            )
            - killed_at
            for inbox in inboxes
        ]
        assert _lease_pid(web.logs) == standby
        print(
            f"\nlive updates resumed {resumed[0]:.2f} s / {resumed[1]:.2f} s after SIGKILL of "
            f"the active monitor on web servers :{web.ports[0]} / :{web.ports[1]} "
            f"(lease ttl {LEASE_TTL} s, poll {POLL} s)"
        )
        assert max(resumed) <= LEASE_TTL + 3 * POLL + 0.5
    finally:
        for ws in sockets:
            await ws.close()
        for task in readers:
            task.cancel()
    producer.close()


# Records every value the overview's length cell of one queue shows, with Date.now(), so
# the resume time is read from the DOM change itself rather than from a polling loop.
LENGTH_OBSERVER = """
(queue) => {
  const row = document.querySelector(`tr[data-queue="${CSS.escape(queue)}"]`);
  const cell = row.querySelector('[data-field="length"]');
  window.__lengths = [[Date.now(), cell.textContent.trim()]];
  new MutationObserver(() => {
    const text = cell.textContent.trim();
    if (text !== window.__lengths[window.__lengths.length - 1][1]) {
      window.__lengths.push([Date.now(), text]);
    }
  }).observe(row, {childList: true, characterData: true, subtree: true});
  window.__noReload = 1;
}
"""


def _first_shown(page: Any, text: str, since_ms: float) -> float | None:
    """Date.now() of the first time the length cell showed ``text`` after ``since_ms``."""
    for at, shown in page.evaluate("window.__lengths"):
        if at >= since_ms and shown == text:
            return float(at)
    return None


@pytest.mark.browser
def test_a_browser_on_either_web_server_sees_the_overview_resume_after_the_monitor_dies(
    web: Web,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    require_chromium()
    producer = Producer(web.queue, redis=web.redis.url)
    Manager(redis=web.redis.url).create_group(web.queue, "billing", start="0")
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        pages = []
        for port in web.ports:
            base = f"http://127.0.0.1:{port}"
            context = browser.new_context()  # one browser profile per web server
            context.add_cookies([{"name": "sessionid", "value": web.session, "url": base}])
            page = context.new_page()
            page.goto(base + "/")
            expect(page.locator('[data-field="live"]')).to_have_text("connected", timeout=10_000)
            page.evaluate(LENGTH_OBSERVER, "orders")
            pages.append(page)
        cells = [p.locator('tr[data-queue="orders"] [data-field="length"]') for p in pages]

        producer.publish_many(list(range(5)))
        for cell in cells:
            expect(cell).to_have_text("5", timeout=10_000)

        holder = _lease_pid(web.logs)
        assert holder in web.monitors
        standby = next(pid for pid in web.monitors if pid != holder)
        killed_ms = time.time() * 1000
        os.kill(holder, signal.SIGKILL)
        web.monitors[holder].wait(5)
        producer.publish_many(list(range(3)))  # length 8: only a live monitor can tell

        for cell in cells:
            expect(cell).to_have_text("8", timeout=(LEASE_TTL + 5) * 1000)
        resumed = []
        for page in pages:
            shown = _first_shown(page, "8", killed_ms)
            assert shown is not None, page.evaluate("window.__lengths")
            resumed.append((shown - killed_ms) / 1000)
            assert page.evaluate("window.__noReload") == 1, "the overview reloaded"
        browser.close()
    producer.close()
    assert _lease_pid(web.logs) == standby
    print(
        f"\nChromium overview resumed {resumed[0]:.2f} s / {resumed[1]:.2f} s after SIGKILL of "
        f"the active monitor on web servers :{web.ports[0]} / :{web.ports[1]} "
        f"(lease ttl {LEASE_TTL} s, poll {POLL} s)"
    )
    assert max(resumed) <= LEASE_TTL + 3 * POLL + 0.5
