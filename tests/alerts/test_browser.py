"""End to end in Debian Chromium: claims appear live on the alerts page, an operator
acknowledges one, and the webhook receiver gets one signed, grouped notification.

Runs Daphne, `manage.py monitor` and `manage.py notifier` as subprocesses on a throwaway
SQLite file and the test's redis-server; the claims come from a SIGKILLed library consumer.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from alerts.backends.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.support.claims import claim_all, kill_consumer_holding, publish
from tests.support.live_stack import launch_chromium, log_in, require_chromium, running_stack
from tests.support.redis_process import wait_for

pytestmark = pytest.mark.browser

PASSWORD = "browser-test-pw-1"
SECRET = "browser-secret"


def _setup_script(queue: str, hook_url: str) -> str:
    return f"""
from django.contrib.auth import get_user_model
from dashboard.catalog.models import QueueDefinition
from alerts.models import NotificationChannel
get_user_model().objects.create_superuser("ops", "", {PASSWORD!r})
QueueDefinition.objects.create(name="orders", queue={queue!r})
NotificationChannel.objects.create(
    name="hook", backend="alerts.backends.webhook.WebhookBackend", url={hook_url!r},
    secret={SECRET!r}, kinds="claimed")
"""


@pytest.fixture
def stack(tmp_path, redis_url, queue_name, webhook_receiver) -> Iterator[str]:
    require_chromium()
    with running_stack(
        tmp_path,
        env={
            "DJANGO_SETTINGS_MODULE": "tests.support.alerts_browser_settings",
            "REDIS_URL": redis_url,
            "STREAMWARDEN_POLL_INTERVAL": "0.5",
            # a failing webhook is retried, not given up, while a test holds it down
            "STREAMWARDEN_NOTIFY_MAX_ATTEMPTS": "1000",
        },
        setup_script=_setup_script(queue_name, webhook_receiver.url),
        commands={
            "monitor": ["monitor", "--interval", "0.5"],
            "notifier": ["notifier", "--tick", "0.3"],
        },
    ) as base:
        yield base


def test_claims_appear_live_are_acknowledged_and_paged_once(
    stack: str, redis_url: str, queue_name: str, webhook_receiver
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page()
        log_in(page, stack, "ops", PASSWORD)
        page.goto(stack + "/alerts/?kind=claimed")
        expect(page.locator("table#alerts")).to_have_attribute("data-live", "1", timeout=10_000)
        page.evaluate("window.__noReload = 1")

        publish(redis_url, queue_name, 5)
        kill_consumer_holding(redis_url, queue_name, "billing", 5)
        assert len(claim_all(redis_url, queue_name, "billing")) == 5

        rows = page.locator("tr.alert-row")
        expect(rows).to_have_count(5, timeout=10_000)
        assert page.evaluate("window.__noReload") == 1, "the page reloaded"
        # (the first cell is the bulk-selection checkbox)
        expect(rows.first.locator("td").nth(4)).to_have_text("orders")
        # the grouped view, the counts and the total follow without a reload
        group = page.locator("tr.alert-group", has_text="orders")
        expect(group.locator('[data-field="count"]')).to_have_text("5", timeout=10_000)
        assert group.is_visible()
        expect(page.locator('#alert-counts [data-state="open"]')).to_have_text("5")
        expect(page.locator('#alert-paging [data-field="total"]')).to_have_text("5")
        assert page.evaluate("window.__noReload") == 1, "the page reloaded"

        rows.first.get_by_role("button", name="Acknowledge").click()
        page.wait_for_url(stack + "/alerts/?kind=claimed")
        expect(page.locator("tr.alert-row.state-acknowledged")).to_have_count(1)

        page.locator("tr.alert-row a[href^='/alerts/']").first.click()
        expect(page.locator("#message-link")).to_have_attribute(
            "href", __import__("re").compile(r"^/queues/orders/#pending-\d+-\d+$")
        )
        browser.close()

    wait_for(lambda: webhook_receiver.received, timeout=15, message="webhook delivered")
    hit = webhook_receiver.received[0]
    assert verify(hit.body, SECRET, hit.headers[SIGNATURE_HEADER], hit.headers[TIMESTAMP_HEADER])
    assert (hit.json["queue"], hit.json["kind"], hit.json["count"]) == ("orders", "claimed", 5)
    assert len(webhook_receiver.received) == 1


def test_an_alert_pages_notification_line_follows_the_delivery_live(
    stack: str, redis_url: str, queue_name: str, webhook_receiver
) -> None:
    """The notifier pushes nothing: the line was what the page was rendered with ("Queued
    for 1 channel" long after the webhook took it) until a reload."""
    from playwright.sync_api import expect, sync_playwright

    webhook_receiver.status = 500  # down: the delivery is retried
    publish(redis_url, queue_name, 2)
    kill_consumer_holding(redis_url, queue_name, "billing", 2)
    assert len(claim_all(redis_url, queue_name, "billing")) == 2
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page()
        log_in(page, stack, "ops", PASSWORD)
        page.goto(stack + "/alerts/?kind=claimed")
        expect(page.locator("tr.alert-row")).to_have_count(2, timeout=15_000)
        page.locator("tr.alert-row a[href^='/alerts/']").first.click()
        line = page.locator("#notification-status")
        expect(line).to_have_text("Queued for 1 channel", timeout=15_000)
        page.evaluate("window.__noReload = 1")

        webhook_receiver.status = 204  # up again: the next attempt delivers
        expect(line).to_have_text("Sent to 1 channel", timeout=20_000)
        assert line.is_visible()
        assert page.evaluate("window.__noReload") == 1, "the page reloaded"
        browser.close()
