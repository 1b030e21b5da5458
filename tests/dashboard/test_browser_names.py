"""In Chromium: the queue page's Delete buttons act on the group they are next to, whatever
its name holds ("/", spaces), and the in-page dialogs quote the names (issue 15, item 10)."""

from __future__ import annotations

import pytest
import redis

from tests.dashboard.test_browser import PASSWORD, Stack, stack  # noqa: F401 - the fixture
from tests.support.live_stack import launch_chromium
from tests.support.queue_data import create_group, publish, stream_key
from tests.support.redis_process import wait_for

pytestmark = pytest.mark.browser

TRICK = "billing/consumers/worker-1"


def test_deleting_a_group_named_like_a_path_deletes_that_group_only(stack: Stack) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    publish(stack.redis_url, stack.queue, [{"n": 1}])
    create_group(stack.redis_url, stack.queue, "billing")
    create_group(stack.redis_url, stack.queue, TRICK)
    client = redis.Redis.from_url(stack.redis_url)
    client.xgroup_createconsumer(stream_key(stack.queue), "billing", "worker-1")

    def groups() -> set[str]:
        return {g["name"].decode() for g in client.xinfo_groups(stream_key(stack.queue))}

    dialogs: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
            page.goto(stack.url + "/login/")
            page.fill("input[name=username]", "ops")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(stack.url + "/")
            page.goto(stack.url + "/queues/orders/")
            row = page.locator("#groups tbody tr", has_text=TRICK)
            expect(row).to_have_count(1, timeout=5000)
            delete = row.get_by_role("button", name="Delete")
            assert delete.is_visible()
            delete.click()
            ask = page.locator("dialog.sw-dialog")
            expect(ask).to_contain_text(f'Delete group "{TRICK}" and its pending entries list?')
            assert ask.is_visible()
            ask.get_by_role("button", name="Delete").click()
            wait_for(lambda: TRICK not in groups(), timeout=10, message="the group is deleted")
            browser.close()
        assert groups() == {"billing"}
        consumers = client.xinfo_consumers(stream_key(stack.queue), "billing")
        assert [c["name"].decode() for c in consumers] == ["worker-1"]
        assert dialogs == [], f"a browser dialog fired: {dialogs}"
    finally:
        client.close()
