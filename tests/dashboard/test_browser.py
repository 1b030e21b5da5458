"""End to end in Debian Chromium: live overview, status changes, escaped payloads.

Runs Daphne and `manage.py monitor` (poll interval 0.5 s) as subprocesses on a throwaway
SQLite file and the test's redis-server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis

from queues.keys import queue_keys
from tests.support.live_stack import launch_chromium, require_chromium, running_stack
from tests.support.queue_data import create_group, publish, stream_key

pytestmark = pytest.mark.browser

POLL = 0.5
PASSWORD = "browser-test-pw-1"
XSS = "<script>alert(1)</script>"


@dataclass
class Stack:
    url: str
    queue: str
    redis_url: str


def _setup_script(queue: str) -> str:
    return f"""
from django.contrib.auth import get_user_model
from dashboard.catalog.models import QueueDefinition, Threshold
get_user_model().objects.create_superuser("ops", "", {PASSWORD!r})
q = QueueDefinition.objects.create(name="orders", queue={queue!r})
Threshold.objects.create(queue=q, lag_warn=100, lag_alert=100000, active_consumers_alert=0)
"""


@pytest.fixture
def stack(tmp_path, redis_url, queue_name) -> Iterator[Stack]:
    require_chromium()
    with running_stack(
        tmp_path,
        env={
            "DJANGO_SETTINGS_MODULE": "dashboard.settings.test",
            "REDIS_URL": redis_url,
            "STREAMWARDEN_POLL_INTERVAL": str(POLL),
            "STREAMWARDEN_ACTIVE_IDLE": "2",
            "STREAMWARDEN_SNAPSHOT_INTERVAL": "1",
            "STREAMWARDEN_LEASE_TTL": "3",
        },
        setup_script=_setup_script(queue_name),
        commands={"monitor": ["monitor", "--interval", str(POLL)]},
    ) as base:
        yield Stack(base, queue_name, redis_url)


class ActiveConsumer:
    """Keeps a consumer of group billing 'seen' without taking new entries (reads its own
    history with id 0), so the queue has an active consumer until stop()."""

    def __init__(self, url: str, queue: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.key = stream_key(queue)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop_event.wait(0.2):
            self.client.xreadgroup("billing", "worker-1", {self.key: "0"}, count=1)

    def start(self) -> ActiveConsumer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(5)


def _dead_letter(url: str, queue: str) -> None:
    client = redis.Redis.from_url(url)
    client.xadd(
        f"sw:{{{queue}}}:dead",
        {
            "payload": json.dumps(XSS),
            "ctype": "json",
            "headers": "{}",
            "error": XSS,
            "traceback": "",
            "deliveries": "5",
            "original_id": "1-0",
            "group": "billing",
            "consumer": "worker-1",
            "reason": "max_deliveries",
            "failed_at": str(int(time.time() * 1000)),
        },
    )
    client.close()


def test_overview_updates_live_and_payloads_stay_text(stack: Stack):
    from playwright.sync_api import expect, sync_playwright

    create_group(stack.redis_url, stack.queue, "billing", start="0")
    consumer = ActiveConsumer(stack.redis_url, stack.queue).start()
    dialogs: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(stack.url + "/login/")
            page.fill("input[name=username]", "ops")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(stack.url + "/")
            row = page.locator('tr[data-queue="orders"]')
            expect(row.locator('[data-field="length"]')).to_have_text("0")
            expect(page.locator('[data-field="live"]')).to_have_text("connected", timeout=10_000)
            # Let one poll with an active consumer pass so the status is ok first.
            expect(row.locator('[data-field="consumers"]')).to_have_text("1/1", timeout=10_000)
            expect(row.locator('[data-field="status"]')).to_have_text("ok")
            page.evaluate("window.__noReload = 1")

            publish(stack.redis_url, stack.queue, [{"n": i} for i in range(500)])
            started = time.monotonic()
            expect(row.locator('[data-field="length"]')).to_have_text(
                "500", timeout=2 * POLL * 1000 + 1500
            )
            expect(row.locator('[data-field="lag"]')).to_have_text("500", timeout=1000)
            elapsed = time.monotonic() - started
            print(f"overview showed the 500 messages {elapsed:.2f}s after publishing")
            assert page.evaluate("window.__noReload") == 1, "the page reloaded"
            # lag 500 >= warn 100 (and < alert): warn per the queue's thresholds.
            expect(row.locator('[data-field="status"]')).to_have_text("warn", timeout=3000)

            # Stop every consumer: after the active-idle time there is none: alert.
            consumer.stop()
            expect(row.locator('[data-field="status"]')).to_have_text("alert", timeout=8000)
            expect(row.locator('[data-field="consumers"]')).to_have_text("0/1")
            expect(row.locator('[data-field="trend"]')).to_have_text("STOP", timeout=3000)

            # A hostile payload on the queue page is shown as text and never runs.
            _dead_letter(stack.redis_url, stack.queue)
            redis.Redis.from_url(stack.redis_url).hincrby(
                queue_keys(stack.queue).duplicates, "billing", 3
            )
            page.click('tr[data-queue="orders"] a')
            payload = page.locator("#dead-letters pre.payload").first
            expect(payload).to_have_text(json.dumps(XSS), timeout=5000)
            # the Error column (after original id, failed at, group, consumer, reason)
            expect(page.locator("#dead-letters tbody td").nth(5)).to_have_text(XSS)
            expect(page.locator("#groups tbody tr")).to_have_count(1)
            # Duplicate deliveries skipped (effectively once) show per group, from Redis.
            duplicates = page.locator("#groups tbody tr td").nth(13)
            expect(duplicates).to_have_text("3", timeout=2 * POLL * 1000 + 1500)
            assert duplicates.is_visible()
            assert page.locator("#dead-letters script").count() == 0
            # Claims table, forecasts and the trim-loss check render from the same data.
            expect(page.locator("#claims tbody tr")).to_have_count(1)
            expect(page.locator("#queue-drain")).not_to_have_text("")
            page.fill("#trim-risk-form input[name=maxlen]", "10")
            page.click("#trim-risk-form button[type=submit]")
            expect(page.locator("#trim-risk-result")).to_contain_text(
                "490 undelivered entries would be lost", timeout=5000
            )
            page.wait_for_timeout(300)  # give a (wrongly) injected script the chance to run
            assert errors == [], f"script errors: {errors}"
            browser.close()
    finally:
        consumer.stop()
    assert dialogs == [], f"a dialog fired: {dialogs}"
