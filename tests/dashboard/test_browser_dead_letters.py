"""In Chromium: 500 dead letters are paged newest first with "50 of 500", and an alert's
link (/queues/<name>/#dead-<original id>) lands on its row even when it is far from the
newest; tracebacks are shown as text (issue 17)."""

from __future__ import annotations

import pytest
import redis

from tests.dashboard.test_browser import PASSWORD, Stack, stack  # noqa: F401 - the fixture
from tests.dashboard.test_dead_letter_paging import LETTERS, fill_dead_letters
from tests.support.live_stack import launch_chromium

pytestmark = pytest.mark.browser


def test_dead_letters_are_paged_and_an_alert_link_lands_on_its_row(stack: Stack) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    client = redis.Redis.from_url(stack.redis_url)
    fill_dead_letters(client, stack.queue)
    client.close()
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(stack.url + "/login/")
        page.fill("input[name=username]", "ops")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(stack.url + "/")

        page.goto(stack.url + "/queues/orders/")
        paging = page.locator("#dead-paging")
        expect(paging).to_contain_text(f"50 of {LETTERS}, newest first")
        newest = page.locator(f"#dead-1000-{LETTERS - 1}")
        expect(newest).to_contain_text(f"worker-{(LETTERS - 1) % 3}")
        assert newest.is_visible()
        page.get_by_role("button", name="Older").click()
        expect(page.locator(f"#dead-1000-{LETTERS - 51}")).to_be_visible()
        assert page.get_by_role("button", name="Newest").is_visible()

        # the link an alert about the 8th oldest dead letter carries
        page.goto(stack.url + "/queues/orders/#dead-1000-7")
        row = page.locator("#dead-1000-7")
        expect(row).to_be_visible()
        expect(row).to_contain_text("ValueError: bad 7")
        expect(row).to_contain_text("worker-1")
        row.locator("summary", has_text="traceback").click()
        traceback = row.locator("pre.traceback")
        expect(traceback).to_contain_text('File "<x>", line 7')
        expect(traceback).to_contain_text("<b>")  # text, not markup
        assert traceback.is_visible()

        page.goto(stack.url + "/queues/orders/#dead-999-1")
        missing = page.locator("#dead-missing")
        expect(missing).to_contain_text("999-1 is not among the newest dead letters")
        browser.close()
    assert errors == [], errors


def test_a_claimed_message_link_says_where_the_message_is_now(stack: Stack) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    from tests.support.queue_data import ack_all, create_group, publish, read

    ids = publish(stack.redis_url, stack.queue, [{"n": i} for i in range(3)])
    create_group(stack.redis_url, stack.queue, "audit", start="$")
    create_group(stack.redis_url, stack.queue, "billing", start="0")
    assert read(stack.redis_url, stack.queue, "billing", "worker-1", 3) == 3
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page()
        page.goto(stack.url + "/login/")
        page.fill("input[name=username]", "ops")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(stack.url + "/")

        page.goto(stack.url + f"/queues/orders/#pending-{ids[1]}")
        where = page.locator("#pending-locate")
        expect(where).to_contain_text(
            f'Entry {ids[1]} is pending: group "billing", owner "worker-1"'
        )
        assert where.is_visible()
        row = page.locator(f'[id="pending-{ids[1]}"]')
        expect(row).to_be_visible()

        ack_all(stack.redis_url, stack.queue, "billing")
        page.goto(stack.url + "/")
        page.goto(stack.url + f"/queues/orders/#pending-{ids[1]}")
        expect(where).to_contain_text("it was acknowledged (still in the stream)")
        assert where.is_visible()
        browser.close()
