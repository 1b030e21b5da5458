"""Every page fits a phone (390 px) and a desktop (1 280 px) without sideways scrolling of
the whole page, in light and dark colour schemes (issue 17). Wide tables scroll inside
their own box; screenshots of each page and scheme go to the test's tmp_path."""

from __future__ import annotations

import re

import pytest

from tests.dashboard.test_browser import (  # noqa: F401 (stack is the fixture)
    PASSWORD,
    ActiveConsumer,
    Stack,
    _dead_letter,
    stack,
)
from tests.support.queue_data import create_group, publish

pytestmark = pytest.mark.browser

# (path, a selector whose content must be visible on that page)
PAGES = (
    ("/", 'tr[data-queue="orders"]'),
    ("/queues/orders/", "#groups tbody tr"),
    ("/alerts/", "#alert-groups-table tbody tr.alert-group"),
    ("/audit/", "#audit"),
    ("/find/?id=1-0", "#find-alerts"),
)


def _page_fits(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def test_pages_fit_phone_and_desktop_in_light_and_dark(stack: Stack, tmp_path):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    from tests.support.live_stack import launch_chromium

    for group in ("billing", "a-consumer-group-with-a-rather-long-name"):
        create_group(stack.redis_url, stack.queue, group, start="0")
    publish(stack.redis_url, stack.queue, [{"n": i} for i in range(300)])
    _dead_letter(stack.redis_url, stack.queue)
    consumer = ActiveConsumer(stack.redis_url, stack.queue).start()
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(stack.url + "/login/")
            page.fill("input[name=username]", "ops")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(stack.url + "/")
            # lag 300 and a dead letter: the monitor raises alerts for the alerts page.
            row = page.locator('tr[data-queue="orders"] [data-field="status"]')
            expect(row).to_have_text(re.compile("warn|alert"), timeout=10_000)
            backgrounds: dict[str, set[str]] = {"light": set(), "dark": set()}
            for width in (390, 1280):
                page.set_viewport_size({"width": width, "height": 900})
                for path, selector in PAGES:
                    for scheme in ("light", "dark"):
                        page.emulate_media(color_scheme=scheme)
                        page.goto(stack.url + path)
                        expect(page.locator(selector).first).to_be_visible(timeout=10_000)
                        assert page.locator("header nav a").first.is_visible()
                        scroll, inner = _page_fits(page)
                        assert scroll <= inner, f"{path} at {width}px ({scheme}): {scroll}>{inner}"
                        name = path.split("?")[0].strip("/").replace("/", "-") or "overview"
                        page.screenshot(path=str(tmp_path / f"{name}-{width}-{scheme}.png"))
                        backgrounds[scheme].add(
                            page.evaluate("getComputedStyle(document.body).backgroundColor")
                        )
            assert backgrounds["light"].isdisjoint(backgrounds["dark"]), backgrounds
            browser.close()
    finally:
        consumer.stop()
