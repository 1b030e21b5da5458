"""The "find a message" box in every page's header (issue 17), in Chromium at 1 280 and
390 px: typing an id shows where the message is, and "show it" lands on its row."""

from __future__ import annotations

import pytest
import redis

from tests.dashboard.test_browser import (  # noqa: F401 (stack is the fixture)
    PASSWORD,
    Stack,
    stack,
)
from tests.support.queue_data import create_group, publish, stream_key

pytestmark = pytest.mark.browser

PAGES = ("/", "/queues/orders/", "/alerts/", "/audit/", "/find/")


def test_the_header_finds_a_message_from_every_page(stack: Stack) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    from tests.support.live_stack import launch_chromium

    ids = publish(stack.redis_url, stack.queue, [{"n": i} for i in range(3)])
    create_group(stack.redis_url, stack.queue, "billing", start="0")
    client = redis.Redis.from_url(stack.redis_url)
    client.xreadgroup("billing", "worker-7", {stream_key(stack.queue): ">"}, count=2)
    client.close()
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(stack.url + "/login/")
        page.fill("input[name=username]", "ops")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(stack.url + "/")
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            for path in PAGES:
                page.goto(stack.url + path)
                box = page.get_by_role("search", name="Find a message")
                assert box.is_visible(), (path, width)
                assert box.get_by_role("searchbox").is_visible(), (path, width)
                assert box.get_by_role("button", name="Find").is_visible(), (path, width)
                scroll, inner = page.evaluate(
                    "[document.documentElement.scrollWidth, window.innerWidth]"
                )
                assert scroll <= inner, f"{path} at {width}px: {scroll}>{inner}"

        # From the alerts page: the second entry is pending with worker-7.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(stack.url + "/alerts/")
        box = page.get_by_role("search", name="Find a message")
        box.get_by_role("searchbox").fill(ids[1])
        box.get_by_role("button", name="Find").click()
        page.wait_for_url("**/find/?id=*")
        finding = page.locator('article.finding[data-queue="orders"]')
        pending = finding.locator('[data-field="pending"]')
        expect(pending).to_contain_text('group "billing", owner "worker-7", 1 delivery')
        assert pending.is_visible()
        assert finding.locator('[data-field="stream"]').inner_text() == "in the stream"
        assert page.locator("#find-alerts").get_by_text("No alert names this id.").is_visible()
        pending.get_by_role("link", name="show it").click()
        row = page.locator(f'#pending tr[id="pending-{ids[1]}"]')
        expect(row).to_have_class("highlight")
        assert row.is_visible()

        # An entry never delivered: in the stream, pending nowhere.
        page.goto(stack.url + f"/find/?id={ids[2]}")
        stream = page.locator('article.finding[data-queue="orders"] [data-field="pending"]')
        expect(stream).to_have_text("not pending in any group (acknowledged, or not yet delivered)")
        browser.close()
