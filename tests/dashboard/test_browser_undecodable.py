"""In Chromium: a dead letter whose payload no decoder can read (JSON nested 1000 deep) is
listed on the queue page with its raw payload, and the page keeps working."""

from __future__ import annotations

import pytest
import redis

from queues import Consumer
from queues.keys import queue_keys
from tests.dashboard.test_browser import PASSWORD, Stack, stack  # noqa: F401 - the fixture
from tests.support.live_stack import launch_chromium

pytestmark = pytest.mark.browser

NESTED = "[" * 1000 + "]" * 1000


def test_an_undecodable_dead_letter_is_shown_on_the_queue_page(stack: Stack) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    client = redis.Redis.from_url(stack.redis_url)
    client.xadd(queue_keys(stack.queue).stream, {"payload": NESTED, "ctype": "json"})
    client.close()
    consumer = Consumer(stack.queue, "billing", lambda m: None, stack.redis_url, block_ms=100)
    consumer.run(burst=True)  # dead-letters it at its first delivery
    consumer.close()

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(stack.url + "/login/")
        page.fill("input[name=username]", "ops")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(stack.url + "/")
        page.goto(stack.url + "/queues/orders/")
        row = page.locator("#dead-letters tbody tr").first
        expect(row).to_contain_text("undecodable", timeout=5000)
        payload = row.locator("pre.payload")
        expect(payload).to_contain_text("[[[[")
        assert row.is_visible() and payload.is_visible()
        assert errors == [], f"script errors: {errors}"
        browser.close()
