"""What an operator sees in Chromium is what is true: badges and banners show only when
their condition holds (issue 16). Asserted on visibility, never on attributes — a `hidden`
attribute that author CSS overrides is still on screen."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.dashboard.test_storms import bounce
from tests.support.live_stack import launch_chromium, require_chromium, running_stack
from tests.support.queue_data import create_group, publish, read

pytestmark = pytest.mark.browser

POLL = 0.5
PASSWORD = "browser-signals-pw-1"


@dataclass
class Stack:
    url: str
    calm: str
    stormy: str
    redis_url: str


def _setup_script(calm: str, stormy: str) -> str:
    return f"""
from django.contrib.auth import get_user_model
from dashboard.catalog.models import QueueDefinition
get_user_model().objects.create_superuser("ops", "", {PASSWORD!r})
QueueDefinition.objects.create(name="calm", queue={calm!r}, groups=["billing"])
QueueDefinition.objects.create(name="stormy", queue={stormy!r}, maxlen=2)
"""


@pytest.fixture
def stack(tmp_path, redis_url, queue_name) -> Iterator[Stack]:
    require_chromium()
    calm, stormy = f"{queue_name}-calm", f"{queue_name}-stormy"
    for name in (calm, stormy):
        publish(redis_url, name, [{"n": i} for i in range(6)])
        create_group(redis_url, name, "billing")
    create_group(redis_url, calm, "mail")  # in Redis, outside calm's groups list
    read(redis_url, stormy, "billing", "w0", 3)  # three pending entries to claim back and forth
    with running_stack(
        tmp_path,
        env={
            "DJANGO_SETTINGS_MODULE": "dashboard.settings.test",
            "REDIS_URL": redis_url,
            "STREAMWARDEN_POLL_INTERVAL": str(POLL),
            "STREAMWARDEN_SNAPSHOT_INTERVAL": "1",
            "STREAMWARDEN_LEASE_TTL": "3",
            "STREAMWARDEN_STORM_CLAIMS": "10",
            "STREAMWARDEN_STORM_WINDOW": "600",
        },
        setup_script=_setup_script(calm, stormy),
        commands={"monitor": ["monitor", "--interval", str(POLL)]},
    ) as base:
        yield Stack(base, calm, stormy, redis_url)


def _login(page, url: str) -> None:
    page.goto(url + "/login/")
    page.fill("input[name=username]", "ops")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


def test_storm_badges_and_banners_show_only_when_their_condition_holds(stack: Stack):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page()
        _login(page, stack.url)
        calm_row = page.locator('tr[data-queue="calm"]')
        stormy_row = page.locator('tr[data-queue="stormy"]')
        expect(page.locator('[data-field="live"]')).to_have_text("connected", timeout=10_000)
        expect(stormy_row.locator('[data-field="length"]')).to_have_text("6", timeout=10_000)
        # No storm anywhere yet: no badge a person can see.
        assert not calm_row.locator('[data-field="storm"]').is_visible()
        assert not stormy_row.locator('[data-field="storm"]').is_visible()
        # The calm queue's group has no consumer: "alert", and the row says why.
        calm_reason = calm_row.locator('[data-field="reason"]')
        expect(calm_reason).to_have_text("— active consumers 0 ≤ 0 (billing)", timeout=10_000)
        assert calm_reason.is_visible()

        bounce(stack.redis_url, stack.stormy, "billing", ["w1", "w2"], rounds=5)  # 15 claims
        expect(stormy_row.locator('[data-field="storm"]')).to_be_visible(timeout=10_000)
        assert stormy_row.locator('[data-field="storm"]').is_visible()
        assert not calm_row.locator('[data-field="storm"]').is_visible()

        # A reload renders the same from the server side.
        page.reload()
        expect(stormy_row.locator('[data-field="storm"]')).to_be_visible(timeout=10_000)
        assert not calm_row.locator('[data-field="storm"]').is_visible()

        # The stormy queue: a storm banner, and a trim-loss banner (MAXLEN 2 < lag 3).
        page.click('tr[data-queue="stormy"] a')
        expect(page.locator("#storm-banner")).to_contain_text("billing", timeout=10_000)
        assert page.locator("#storm-banner").is_visible()
        expect(page.locator("#trim-risk-banner")).to_contain_text("MAXLEN 2", timeout=10_000)
        assert page.locator("#trim-risk-banner").is_visible()

        # The calm queue (no storm, no MAXLEN): neither banner is on screen once live.
        page.goto(stack.url + "/")
        page.click('tr[data-queue="calm"] a')
        expect(page.locator("#groups tbody tr")).to_have_count(1, timeout=10_000)
        expect(page.locator('#summary [data-field="rate_in"]')).not_to_have_text(
            "–", timeout=10_000
        )
        assert not page.locator("#storm-banner").is_visible()
        assert not page.locator("#trim-risk-banner").is_visible()
        # The status says why, and the effective thresholds are on the page with an edit link.
        reason = page.locator("#queue-reason")
        expect(reason).to_contain_text("alert — active consumers 0 ≤ 0 (billing)")
        assert reason.is_visible()
        assert page.locator('#thresholds tr[data-metric="dead_letters"]').is_visible()
        assert page.locator("#edit-thresholds").is_visible()
        # The group's trend shows its evidence: the lag's slope over the window judged.
        evidence = page.locator("#groups tbody tr .trend-evidence")
        expect(evidence).to_contain_text("/s over", timeout=10_000)
        assert evidence.is_visible()
        # A group in Redis outside the watch list is named, and one click watches it.
        unwatched = page.locator("#unwatched-groups")
        expect(unwatched).to_contain_text("mail")
        assert unwatched.is_visible()
        page.on("dialog", lambda d: d.accept())
        unwatched.get_by_role("button", name="Watch").click()
        expect(page.locator("#groups tbody tr")).to_have_count(2, timeout=10_000)
        expect(unwatched).to_be_hidden(timeout=10_000)
        browser.close()


def test_data_age_turns_to_a_warning_when_live_updates_stop_and_back_when_they_resume(
    stack: Stack,
):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context()
        page = context.new_page()
        _login(page, stack.url)
        age = page.locator("#data-age")
        expect(page.locator('[data-field="live"]')).to_have_text("connected", timeout=10_000)
        expect(age).to_contain_text("s old")
        assert age.is_visible()
        assert "quiet" not in age.inner_text()

        # The browser goes offline: numbers freeze, and the page says so (stale after 10 s).
        context.set_offline(True)
        expect(age).to_contain_text("the websocket or the monitor is quiet", timeout=20_000)
        assert age.is_visible()
        context.set_offline(False)
        expect(age).not_to_contain_text("quiet", timeout=20_000)
        browser.close()


AXIS = """() => {
  const c = window.Chart.getChart(document.getElementById("chart-depth"));
  const xs = c.data.datasets[0].data.map((p) => p.x);
  return {type: c.options.scales.x.type, min: c.scales.x.min, max: c.scales.x.max, xs: xs};
}"""


def test_charts_plot_real_time_on_a_window_that_slides(stack: Stack):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        _login(page, stack.url)
        page.click('tr[data-queue="calm"] a')
        expect(page.locator('[data-field="live"]')).to_have_text("connected", timeout=10_000)
        page.click('#ranges button[data-range="5m"]')
        # Stored snapshots reach the chart (a still queue is re-stored every few seconds),
        # each point at its own time.
        page.wait_for_function(
            "() => window.Chart.getChart(document.getElementById('chart-depth'))"
            ".data.datasets[0].data.length >= 2",
            timeout=30_000,
        )
        assert errors == [], errors
        axis = page.evaluate(AXIS)
        assert axis["type"] == "linear"
        assert axis["max"] - axis["min"] == 300_000  # the 5 minutes the button says
        assert axis["xs"] == sorted(axis["xs"])
        assert all(axis["min"] <= x <= axis["max"] for x in axis["xs"])
        now_ms = page.evaluate("Date.now()")
        assert abs(axis["max"] - now_ms) < 10_000  # the window ends now
        page.wait_for_timeout(6_000)  # the window slides with the clock (every 5 s)
        later = page.evaluate(AXIS)
        assert later["max"] > axis["max"] and later["max"] - later["min"] == 300_000
        assert page.locator("#chart-depth").is_visible()
        browser.close()
