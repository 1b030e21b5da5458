"""In Chromium: actions ask and answer in the page (no browser dialogs), and deleting an
active consumer that holds pending entries loses none of them (issue 17)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis

from tests.dashboard.test_browser import PASSWORD, Stack, stack  # noqa: F401 - the fixture
from tests.support.claims import HOLDER
from tests.support.live_stack import launch_chromium
from tests.support.queue_data import create_group, publish, stream_key

pytestmark = pytest.mark.browser

HELD = 12


def _login(page, url: str) -> None:
    page.goto(url + "/login/")
    page.fill("input[name=username]", "ops")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


def test_deleting_an_active_consumer_hands_its_pending_entries_over(stack: Stack) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    create_group(stack.redis_url, stack.queue, "billing", start="0")
    ids = publish(stack.redis_url, stack.queue, [{"n": i} for i in range(HELD)])
    # a real library consumer, alive, "processing" all twelve while the operator deletes it
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, stack.redis_url, stack.queue, "billing", str(HELD)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
    )
    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    dialogs: list[str] = []
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == str(HELD)
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            _login(page, stack.url)
            page.goto(stack.url + "/queues/orders/")
            row = page.locator("#consumers tbody tr", has_text="doomed-worker")
            expect(row).to_have_count(1, timeout=10_000)
            row.get_by_role("button", name="Delete").click()
            ask = page.locator("dialog.sw-dialog")
            expect(ask).to_contain_text('Delete consumer "doomed-worker" of group "billing"?')
            assert ask.is_visible()
            ask.get_by_role("button", name="Delete").click()
            # refused by the server with the count at that moment, then offered a hand-over
            expect(ask).to_contain_text(f"owns {HELD} pending entries right now")
            assert ask.get_by_label("Hand to consumer").is_visible()
            ask.get_by_label("Hand to consumer").fill("rescuer")
            ask.get_by_role("button", name="Hand over and delete").click()
            result = page.locator("#action-result")
            expect(result).to_have_text(
                f'Deleted consumer "doomed-worker": handed {HELD} pending entries to "rescuer".'
            )
            assert result.is_visible()
            browser.close()
        pending = client.xpending_range(stream_key(stack.queue), "billing", "-", "+", 100)
        assert sorted(p["message_id"] for p in pending) == sorted(ids)  # none lost
        assert dialogs == [], f"a browser dialog fired: {dialogs}"
    finally:
        holder.kill()
        holder.wait(10)
        client.close()


def test_an_api_error_is_shown_in_the_page_in_the_api_s_words(stack: Stack) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    create_group(stack.redis_url, stack.queue, "billing", start="0")
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        _login(page, stack.url)
        page.goto(stack.url + "/queues/orders/")
        row = page.locator("#groups tbody tr", has_text="billing")
        expect(row).to_have_count(1, timeout=10_000)
        row.get_by_role("button", name="Set id").click()
        ask = page.locator("dialog.sw-dialog")
        ask.get_by_label("Entry id").fill("not-an-id")
        ask.get_by_role("button", name="Set id").click()
        result = page.locator("#action-result")
        expect(result).to_contain_text("An entry id like 1700000000000-0, 0 or $")
        assert result.is_visible()
        row.get_by_role("button", name="Set id").click()
        ask.get_by_label("Entry id").fill("0")
        ask.get_by_role("button", name="Set id").click()
        expect(result).to_have_text('Group "billing" now starts after "0".')
        browser.close()
    assert dialogs == [], f"a browser dialog fired: {dialogs}"


def test_purge_states_the_loss_and_needs_the_queue_name_typed(stack: Stack) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    create_group(stack.redis_url, stack.queue, "billing", start="0")
    publish(stack.redis_url, stack.queue, [{"n": i} for i in range(7)])
    client = redis.Redis.from_url(stack.redis_url)
    dialogs: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            _login(page, stack.url)
            page.goto(stack.url + "/queues/orders/")
            page.get_by_role("button", name="Purge the stream").click()
            ask = page.locator("dialog.sw-dialog")
            expect(ask).to_contain_text("7 entries right now, 7 not yet delivered and 0 pending")
            assert ask.is_visible()
            ask.get_by_label("Queue name").fill("order")
            ask.get_by_role("button", name="Purge").click()
            result = page.locator("#action-result")
            expect(result).to_have_text('Not purged: the name typed is not "orders".')
            assert client.xlen(stream_key(stack.queue)) == 7
            page.get_by_role("button", name="Purge the stream").click()
            ask.get_by_label("Queue name").fill("orders")
            ask.get_by_role("button", name="Purge").click()
            expect(result).to_contain_text('Purged "orders"')
            assert result.is_visible()
            browser.close()
        assert client.xlen(stream_key(stack.queue)) == 0
        assert dialogs == [], f"a browser dialog fired: {dialogs}"
    finally:
        client.close()
