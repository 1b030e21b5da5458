"""Channels in Debian Chromium (issue 17): "send a test" goes through the channel's real
backend (a live webhook receiver; a dead port) and the result is said in the page; the
channel list's health column shows the last delivery, failures in a row and the last error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from alerts.backends.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.support.live_stack import launch_chromium, require_chromium, running_stack
from tests.support.redis_process import free_port

pytestmark = pytest.mark.browser

PASSWORD = "browser-test-pw-1"
SECRET = "browser-secret"


@pytest.fixture
def stack(tmp_path, redis_url, webhook_receiver) -> Iterator[str]:
    require_chromium()
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    setup = f"""
from django.contrib.auth import get_user_model
from alerts.models import NotificationChannel
get_user_model().objects.create_superuser("ops", "", {PASSWORD!r})
NotificationChannel.objects.create(name="hook", url={webhook_receiver.url!r}, secret={SECRET!r})
NotificationChannel.objects.create(name="dead", url={dead!r}, secret={SECRET!r})
"""
    with running_stack(
        tmp_path,
        env={"DJANGO_SETTINGS_MODULE": "dashboard.settings.test", "REDIS_URL": redis_url},
        setup_script=setup,
        commands={},
    ) as base:
        yield base


def test_send_a_test_and_see_each_channels_health(stack: str, webhook_receiver) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(stack + "/admin/login/?next=/admin/alerts/notificationchannel/")
        page.fill("input[name=username]", "ops")
        page.fill("input[name=password]", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(stack + "/admin/alerts/notificationchannel/")

        def health(name: str):
            link = page.get_by_role("link", name=name, exact=True)
            return page.locator("#result_list tbody tr", has=link).locator(".channel-health")

        for name in ("hook", "dead"):
            assert health(name).is_visible()
            assert health(name).inner_text() == "no deliveries yet"

        # The list's action, on both channels at once.
        page.locator("#action-toggle").check()
        page.select_option("select[name=action]", "send_test")
        page.click("button[name=index]")
        ok = page.locator(".messagelist li.success")
        failed = page.locator(".messagelist li.error")
        expect(ok).to_contain_text("Test notification to 'hook': delivered (HTTP 204")
        expect(failed).to_contain_text("Test notification to 'dead': failed:")
        assert ok.is_visible() and failed.is_visible()

        # The receiver got one signed test notification.
        assert len(webhook_receiver.received) == 1
        hit = webhook_receiver.received[0]
        assert verify(
            hit.body, SECRET, hit.headers[SIGNATURE_HEADER], hit.headers[TIMESTAMP_HEADER]
        )
        assert (hit.json["kind"], hit.json["status"]) == ("test", "test")

        assert health("hook").inner_text().startswith("✓ ok · last delivery ")
        dead = health("dead")
        assert dead.get_attribute("data-state") == "failing"
        assert "✗ failing · 1 failed attempt in a row" in dead.inner_text()
        assert "never delivered" in dead.inner_text()
        assert dead.locator("code").is_visible() and dead.locator("code").inner_text() != "—"

        # The button on a channel's own page: the result there, the count goes on.
        page.get_by_role("link", name="dead", exact=True).click()
        page.wait_for_url("**/change/")
        button = page.locator("#channel-test button")
        assert button.is_visible()
        button.click()
        expect(page.locator(".messagelist li.error")).to_contain_text(
            "Test notification to 'dead': failed:"
        )
        assert "/change/" in page.url
        page.goto(stack + "/admin/alerts/notificationchannel/")
        assert "2 failed attempts in a row" in health("dead").inner_text()

        page.goto(stack + "/audit/")
        tests = page.locator("#audit tbody tr", has_text="channel.test")
        expect(tests).to_have_count(3)
        assert tests.filter(has_text="failed").count() == 2
        browser.close()
