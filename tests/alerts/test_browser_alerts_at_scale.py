"""In Chromium, during a claim storm of 5 000 alerts: the alerts page shows one page of
rows with "1–50 of 5000", counts by severity, the grouped view with its counts, and a
filtered "Acknowledge all" acknowledges every one of them with one audit entry (issue 17).
The load time is measured by tests/bench/alerts_page.py, not asserted here."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from tests.support.live_stack import launch_chromium, require_chromium, running_stack

pytestmark = pytest.mark.browser

PASSWORD = "browser-test-pw-1"
STORM = 5000

SETUP = f"""
from django.contrib.auth import get_user_model
from dashboard.catalog.models import QueueDefinition
from alerts.models import Alert, AlertKind
get_user_model().objects.create_superuser("ops", "", {PASSWORD!r})
Alert.objects.bulk_create([
    Alert(kind=AlertKind.CLAIMED, queue="orders" if i % 5 else "mail", group="billing",
          message_id=f"{{i}}-0", event_id=f"e-{{i}}", summary=f"message {{i}}-0 claimed",
          details={{"consumer": "ledger-1", "deliveries": 3}})
    for i in range({STORM})
], batch_size=1000)
Alert.objects.create(kind=AlertKind.THRESHOLD, queue="orders", severity="alert", summary="lag")
"""


@pytest.fixture
def stack(tmp_path, redis_url) -> Iterator[tuple[str, str]]:
    require_chromium()
    with running_stack(
        tmp_path,
        env={"DJANGO_SETTINGS_MODULE": "dashboard.settings.test", "REDIS_URL": redis_url},
        setup_script=SETUP,
        commands={},
    ) as base:
        yield base, str(tmp_path / "browser.sqlite3")


def test_a_claim_storm_is_paged_grouped_counted_and_acknowledged_in_one_go(stack) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, db = stack
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(base + "/login/")
        page.fill("input[name=username]", "ops")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        page.goto(base + "/alerts/")
        rows = page.locator("tr.alert-row")
        expect(rows).to_have_count(50)
        paging = page.locator("#alert-paging")
        expect(paging).to_contain_text(f"1–50 of {STORM + 1}")
        assert paging.is_visible()
        counts = page.locator("#alert-counts")
        expect(counts.locator('[data-severity="warn"]')).to_have_text(str(STORM))
        expect(counts.locator('[data-severity="alert"]')).to_have_text("1")
        assert counts.is_visible()
        groups = page.locator("tr.alert-group")
        orders = groups.filter(has_text="orders").filter(has_text="claimed")
        expect(orders.locator('[data-field="count"]')).to_have_text(str(STORM * 4 // 5))
        mail = groups.filter(has_text="mail")
        expect(mail.locator('[data-field="count"]')).to_have_text(str(STORM // 5))
        assert orders.is_visible() and mail.is_visible()

        page.select_option("select[name=kind]", "claimed")
        page.get_by_role("button", name="Filter").click()
        expect(paging).to_contain_text(f"1–50 of {STORM}")
        ack_all = page.get_by_role("button", name=f"Acknowledge all {STORM}")
        assert ack_all.is_visible()
        ack_all.click()
        result = page.locator("#action-result")
        expect(result).to_have_text(f"Acknowledged {STORM} alerts.")
        assert result.is_visible()
        expect(page.locator('#alert-counts [data-state="acknowledged"]')).to_have_text(str(STORM))
        expect(page.locator('#alert-counts [data-state="open"]')).to_have_text("0")
        browser.close()
    with sqlite3.connect(db) as conn:
        states = dict(conn.execute("SELECT state, COUNT(*) FROM alerts_alert GROUP BY state"))
        audit = conn.execute(
            "SELECT action, details FROM dashboard_auditlog WHERE action LIKE 'alert.%'"
        ).fetchall()
    assert states == {"acknowledged": STORM, "open": 1}
    assert len(audit) == 1 and audit[0][0] == "alert.bulk_acknowledge"
    assert f'"count": {STORM}' in audit[0][1]
    assert errors == [], errors  # no console error (the favicon 404 was one)
