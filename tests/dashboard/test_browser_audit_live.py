"""Admin changes reach the audit log, and audit pages follow it live (issue 17): changing a
queue definition, adding silences and a channel and deleting silences in bulk in the admin
adds rows to an open /audit/ page and to the queue page's audit section without a reload;
the user filter names each user once."""

from __future__ import annotations

import pytest

from tests.dashboard.test_browser import (  # noqa: F401 (stack is the fixture)
    PASSWORD,
    Stack,
    stack,
)

pytestmark = pytest.mark.browser


def test_admin_changes_appear_live_in_the_audit_log_and_on_the_queue_page(
    stack: Stack,  # noqa: F811
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.support.live_stack import launch_chromium

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        admin = context.new_page()
        admin.goto(stack.url + "/login/")
        admin.fill("input[name=username]", "ops")
        admin.fill("input[name=password]", PASSWORD)
        admin.click("button[type=submit]")
        admin.wait_for_url(stack.url + "/")

        audit = context.new_page()
        audit.goto(stack.url + "/audit/")
        queue = context.new_page()
        queue.goto(stack.url + "/queues/orders/")
        for page in (audit, queue):
            expect(page.locator('[data-field="live"]').first).to_have_text("connected")
            page.evaluate("window.__noReload = 1")
        expect(audit.locator("#audit tbody tr.empty")).to_be_visible()

        # A queue definition changed in the admin.
        admin.goto(stack.url + "/admin/queues/queuedefinition/")
        admin.get_by_role("link", name="orders", exact=True).click()
        admin.fill("#id_notes", "owned by the billing team")
        admin.click("input[name=_save]")
        expect(admin.locator(".messagelist li.success")).to_be_visible()

        row = audit.locator("#audit tbody tr", has_text="admin.change")
        expect(row).to_have_count(1)
        assert row.is_visible()
        assert row.locator("td").nth(3).inner_text() == "orders"
        assert "Notes" in row.locator("pre").inner_text()
        section = queue.locator("#queue-audit tbody tr", has_text="admin.change")
        expect(section).to_have_count(1)
        assert section.is_visible()

        # Two silences and a channel added, then the silences deleted in one bulk action.
        for comment in ("deploy", "migration"):
            admin.goto(stack.url + "/admin/alerts/silence/add/")
            admin.fill("#id_queue", "orders")
            admin.fill("#id_comment", comment)
            admin.click("input[name=_save]")
            expect(admin.locator(".messagelist li.success")).to_be_visible()
        admin.goto(stack.url + "/admin/alerts/notificationchannel/add/")
        admin.fill("#id_name", "ops-mail")
        admin.select_option("#id_backend", "alerts.backends.email.EmailBackend")
        admin.fill("#id_emails", "ops@example.com")
        admin.click("input[name=_save]")
        expect(admin.locator(".messagelist li.success")).to_be_visible()
        admin.goto(stack.url + "/admin/alerts/silence/")
        admin.locator("#action-toggle").check()
        admin.select_option("select[name=action]", "delete_selected")
        admin.click("button[name=index]")
        admin.click("input[type=submit]")  # "Yes, I'm sure"
        expect(admin.locator(".messagelist li.success")).to_contain_text("Successfully deleted 2")

        added = audit.locator("#audit tbody tr", has_text="admin.add")
        expect(added).to_have_count(3)
        assert added.filter(has_text="channel:ops-mail").first.is_visible()
        deleted = audit.locator("#audit tbody tr", has_text="admin.delete")
        expect(deleted).to_have_count(2)
        assert deleted.first.is_visible()
        # silences of "orders" belong to its page too: 2 added, 2 deleted, 1 change
        expect(queue.locator("#queue-audit tbody tr")).to_have_count(5)
        for page in (audit, queue):
            assert page.evaluate("window.__noReload") == 1, "the page reloaded"

        # The user filter: each user once, however many entries they made.
        audit.reload()
        options = audit.locator("#audit-filters select[name=user] option")
        assert options.all_inner_texts() == ["all", "ops"]
        browser.close()
