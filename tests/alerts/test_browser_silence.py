"""Silence this in Debian Chromium (issue 17): from an alert's page and from a group of
rows on the alerts page, the operator picks a duration and sees the result in the page; the
silence is listed in the admin and the action in the audit log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.live_stack import launch_chromium, require_chromium, running_stack

pytestmark = pytest.mark.browser

PASSWORD = "browser-test-pw-1"

SETUP = f"""
from django.contrib.auth import get_user_model
from dashboard.catalog.models import QueueDefinition
from alerts.models import Alert
get_user_model().objects.create_superuser("ops", "", {PASSWORD!r})
QueueDefinition.objects.create(name="orders", queue="orders")
for i in range(3):
    Alert.objects.create(kind="claimed", severity="warn", queue="orders", group="billing",
        message_id=f"{{i}}-0", summary="claimed")
Alert.objects.create(kind="dead_lettered", severity="alert", queue="orders", group="shipping",
    message_id="9-0", summary="dead-lettered")
"""


@pytest.fixture
def stack(tmp_path, redis_url) -> Iterator[str]:
    require_chromium()
    with running_stack(
        tmp_path,
        env={"DJANGO_SETTINGS_MODULE": "dashboard.settings.test", "REDIS_URL": redis_url},
        setup_script=SETUP,
        commands={},
    ) as base:
        yield base


def test_silence_from_an_alert_and_from_a_group_of_rows(stack: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(stack + "/login/")
        page.fill("input[name=username]", "ops")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(stack + "/")

        # From the alert's page: 1 hour, with a reason.
        page.goto(stack + "/alerts/1/")
        box = page.locator("#silence details")
        form = box.locator("form")
        assert not form.is_visible(), "folded until asked for"
        box.locator("summary").click()
        assert form.is_visible()
        assert form.locator('[data-field="covers"]').inner_text() == (
            'queue "orders", group "billing", kind claimed'
        )
        form.locator("select[name=duration]").select_option(label="1 hour")
        form.locator("input[name=comment]").fill("deploying billing")
        form.locator("button[type=submit]").click()
        page.wait_for_url(stack + "/alerts/1/")
        result = page.locator("#action-result")
        expect(result).to_contain_text(
            "Silenced queue 'orders', group 'billing', kind claimed until"
        )
        assert result.is_visible()

        # From a group of rows on the alerts page: the dead letters of group shipping, 24 h.
        page.goto(stack + "/alerts/")
        group_row = page.locator("#alert-groups-table tr.alert-group", has_text="shipping")
        group_row.locator("summary", has_text="Silence").click()
        form = group_row.locator("form.silence-form")
        assert form.is_visible()
        form.locator("select[name=duration]").select_option(label="24 hours")
        form.locator("button[type=submit]").click()
        expect(page.locator("#action-result")).to_contain_text(
            "Silenced queue 'orders', group 'shipping', kind dead_lettered until"
        )
        assert page.url.startswith(stack + "/alerts/")

        # Listed in the admin; both actions in the audit log.
        page.goto(stack + "/admin/alerts/silence/")
        rows = page.locator("#result_list tbody tr")
        expect(rows).to_have_count(2)
        assert rows.filter(has_text="deploying billing").count() == 0  # comment not a column
        assert rows.filter(has_text="shipping").first.is_visible()
        assert rows.filter(has_text="billing").first.is_visible()
        page.goto(stack + "/audit/")
        audited = page.locator("#audit tbody tr", has_text="silence.create")
        expect(audited).to_have_count(2)
        assert audited.first.is_visible()
        assert dialogs == []
        browser.close()
