"""A plain stream (made and consumed only by redis-cli) in Debian Chromium: its page shows
lag, pending and consumers live, "n/a" for what only StreamWarden queues have, its entries
as text (a hostile field never runs), and a claim by redis-cli as an inferred alert."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dashboard.test_browser import PASSWORD, POLL, XSS
from tests.support.live_stack import launch_chromium, require_chromium, running_stack
from tests.support.redis_cli import redis_cli

pytestmark = pytest.mark.browser

SETUP = f"""
from django.contrib.auth import get_user_model
from dashboard.catalog.models import QueueDefinition
get_user_model().objects.create_superuser("ops", "", {PASSWORD!r})
d = QueueDefinition(name="orders", stream="orders")
d.full_clean()
d.save()
"""


@pytest.fixture
def stack(tmp_path, redis_url) -> Iterator[str]:
    require_chromium()
    with running_stack(
        tmp_path,
        env={
            "DJANGO_SETTINGS_MODULE": "dashboard.settings.test",
            "REDIS_URL": redis_url,
            "STREAMWARDEN_POLL_INTERVAL": str(POLL),
            "STREAMWARDEN_ACTIVE_IDLE": "30",
            "STREAMWARDEN_SNAPSHOT_INTERVAL": "1",
            "STREAMWARDEN_LEASE_TTL": "3",
        },
        setup_script=SETUP,
        commands={"monitor": ["monitor", "--interval", str(POLL)]},
    ) as base:
        yield base


def test_a_plain_stream_page_shows_its_groups_entries_and_inferred_claims(stack, redis_url):
    from playwright.sync_api import expect, sync_playwright

    first = redis_cli(redis_url, "XADD", "orders", "*", "orderId", "1", "data", XSS)
    first_id = first.strip().strip('"')
    redis_cli(redis_url, "XADD", "orders", "*", "blob", stdin=b"\x00\xff binary")
    redis_cli(redis_url, "XGROUP", "CREATE", "orders", "order-processors", "0")
    redis_cli(
        redis_url,
        "XREADGROUP",
        "GROUP",
        "order-processors",
        "worker1",
        "COUNT",
        "1",
        "STREAMS",
        "orders",
        ">",
    )
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(stack + "/login/")
        page.fill("input[name=username]", "ops")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(stack + "/")
        page.goto(stack + "/queues/orders/")

        assert page.locator("#plain-stream").is_visible()
        summary = page.locator("#summary")
        expect(summary.locator('[data-field="length"]')).to_have_text("2")
        expect(summary.locator('[data-field="lag"]')).to_have_text("1")
        expect(summary.locator('[data-field="pending"]')).to_have_text("1")
        dead = summary.locator('[data-field="dead_letters"]')
        expect(dead).to_have_text("n/a")
        assert dead.is_visible()
        consumer_cell = page.locator("#consumers tbody tr td").nth(1)
        expect(consumer_cell).to_have_text("worker1", timeout=5000)
        assert consumer_cell.is_visible()

        # entries, newest first, fields as text: the hostile one is shown, never run
        rows = page.locator("#entries-table tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text("\\x00\\xff binary")
        expect(rows.nth(1)).to_contain_text(XSS)
        assert rows.nth(1).is_visible()
        assert page.locator("#entries-table script").count() == 0

        # live: entries added by redis-cli show without a reload (websocket)
        page.evaluate("window.__noReload = 1")
        for n in range(3):
            redis_cli(redis_url, "XADD", "orders", "*", "orderId", str(10 + n))
        expect(summary.locator('[data-field="lag"]')).to_have_text("4", timeout=6000)
        expect(summary.locator('[data-field="length"]')).to_have_text("5")
        assert page.evaluate("window.__noReload") == 1

        # the group's pending entries
        pending = page.locator("#pending tbody tr")
        expect(pending).to_have_count(1, timeout=5000)
        expect(pending.first).to_contain_text(first_id)
        expect(pending.first).to_contain_text("worker1")

        # redis-cli claims the entry: the page's claim count follows (websocket), and the
        # alert is listed as inferred
        redis_cli(redis_url, "XCLAIM", "orders", "order-processors", "worker2", "0", first_id)
        claims = page.locator("#claims tbody tr td").nth(1)
        expect(claims).to_have_text("1", timeout=6 * POLL * 1000 + 3000)
        assert claims.is_visible()
        page.goto(stack + "/alerts/")
        alert_row = page.locator("tr", has_text=first_id).first
        expect(alert_row).to_contain_text("(inferred)")
        assert alert_row.is_visible()
        assert errors == [], f"script errors: {errors}"
        browser.close()
