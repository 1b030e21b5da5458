"""Pending entries show their payload as dead letters do (issue 17): escaped text,
pretty-printed JSON, long values folded behind "show more"; and an alert's own page follows
the alert live (acknowledged and resolved elsewhere, no reload)."""

from __future__ import annotations

import json

import pytest
import redis

from tests.dashboard.test_browser_a11y import (  # noqa: F401 (stack is the fixture)
    PASSWORD,
    stack,
)
from tests.support.queue_data import create_group, dead_letter, publish, stream_key

pytestmark = pytest.mark.browser

XSS = '<img src=x onerror="window.__xss=1">'
PAYLOAD = {
    "order": 7,
    "customer": {"name": XSS, "lines": [{"sku": f"sku-{i}", "qty": i} for i in range(12)]},
    "zz_last": "the end of a long payload",
}


def test_pending_payloads_are_pretty_folded_text(stack: str, redis_url, queue_name):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    from tests.support.live_stack import launch_chromium

    publish(redis_url, queue_name, [PAYLOAD])
    create_group(redis_url, queue_name, "billing", start="0")
    client = redis.Redis.from_url(redis_url)
    client.xreadgroup("billing", "worker-1", {stream_key(queue_name): ">"}, count=1)
    client.close()
    dead_letter(redis_url, queue_name, {"order": 7})
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(stack + "/login/")
        page.fill("input[name=username]", "ops")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(stack + "/")
        page.goto(stack + "/queues/orders/")
        expect(page.locator("#pending-group")).to_have_value("billing", timeout=10_000)
        row = page.locator("#pending tbody tr").first
        expect(row).to_be_visible(timeout=10_000)
        payload = row.locator("pre.payload")
        assert payload.is_visible()
        folded = payload.inner_text()
        assert folded.startswith('{\n  "order": 7,\n  "customer": {')  # pretty-printed
        assert "zz_last" not in folded  # folded: the rest is behind "show more"
        more = row.get_by_role("button", name="show more")
        assert more.is_visible()
        more.click()
        expect(payload).to_contain_text('"zz_last": "the end of a long payload"')
        assert json.dumps(XSS) in payload.inner_text()  # the markup is shown as text, never run
        assert row.locator("img").count() == 0
        assert page.evaluate("window.__xss") is None
        row.get_by_role("button", name="show less").click()
        assert "zz_last" not in payload.inner_text()

        # The dead letter of the same page: the same view ({"order": 7} is short: unfolded).
        dead = page.locator("#dead-letters tbody tr").first
        expect(dead.locator("pre.payload")).to_have_text('{\n  "order": 7\n}')
        assert dead.get_by_role("button", name="show more").count() == 0
        browser.close()


def test_an_alerts_page_follows_it_live(stack: str):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    from tests.support.live_stack import launch_chromium

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        operator = context.new_page()
        operator.goto(stack + "/login/")
        operator.fill("input[name=username]", "ops")
        operator.fill("input[name=password]", PASSWORD)
        operator.click("button[type=submit]")
        operator.wait_for_url(stack + "/")

        watcher = context.new_page()
        watcher.goto(stack + "/alerts/1/")
        expect(watcher.locator('[data-field="live"]')).to_have_text("connected")
        watcher.evaluate("window.__noReload = 1")
        assert watcher.locator("#alert-state").inner_text() == "open"
        assert watcher.locator("#alert-acknowledge button").is_visible()

        operator.goto(stack + "/alerts/")
        operator.locator("#alert-1").get_by_role("button", name="Acknowledge").click()
        expect(operator.locator("#action-result")).to_contain_text("acknowledged")
        expect(watcher.locator("#alert-state")).to_have_text("acknowledged")
        assert "by ops" in watcher.locator("#alert-acknowledged").inner_text()
        assert not watcher.locator("#alert-acknowledge button").is_visible()
        assert watcher.locator("#alert-resolve button").is_visible()

        operator.locator("#alert-1").get_by_role("button", name="Resolve").click()
        expect(watcher.locator("#alert-state")).to_have_text("resolved")
        assert "by ops" in watcher.locator("#alert-resolved").inner_text()
        assert not watcher.locator("#alert-resolve button").is_visible()
        assert watcher.evaluate("window.__noReload") == 1, "the page reloaded"
        browser.close()
