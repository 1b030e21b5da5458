"""Every page in Debian Chromium, checked by axe-core and for console errors.

Runs Daphne and `manage.py monitor` on a throwaway SQLite file and the test's redis-server;
the queue has a group, a pending entry, a dead letter and a claim alert, so the tables, badges
and forms those bring are on the pages axe sees.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

from tests.support.live_stack import launch_chromium, require_chromium, running_stack
from tests.support.queue_data import create_group, publish, stream_key

pytestmark = pytest.mark.browser

PASSWORD = "browser-test-pw-1"
# axe's impact levels that fail the test (issue 17: no serious or critical violation).
BLOCKING = {"serious", "critical"}


def _setup_script(queue: str) -> str:
    return f"""
from django.contrib.auth import get_user_model
from dashboard.catalog.models import QueueDefinition, Threshold
from alerts.models import Alert
get_user_model().objects.create_superuser("ops", "", {PASSWORD!r})
q = QueueDefinition.objects.create(name="orders", queue={queue!r})
QueueDefinition.objects.create(name="events", stream={queue + "-plain"!r})
Threshold.objects.create(queue=q, lag_warn=100, lag_alert=100000, active_consumers_alert=0)
Alert.objects.create(kind="claimed", severity="warn", queue="orders", group="billing",
    message_id="1-0", summary="1-0 claimed by worker-2",
    details={{"consumer": "worker-2", "previous_consumer": "worker-1", "deliveries": 2}})
from alerts.models import NotificationChannel
NotificationChannel.objects.create(name="hook", url="https://hooks.example.com/x", secret="k")
"""


@pytest.fixture
def stack(tmp_path, redis_url, queue_name) -> Iterator[str]:
    require_chromium()
    with running_stack(
        tmp_path,
        env={
            "DJANGO_SETTINGS_MODULE": "dashboard.settings.test",
            "REDIS_URL": redis_url,
            "STREAMWARDEN_POLL_INTERVAL": "0.5",
        },
        setup_script=_setup_script(queue_name),
        commands={"monitor": ["monitor", "--interval", "0.5"]},
    ) as base:
        yield base


def _seed(url: str, queue: str) -> None:
    publish(url, queue, [{"n": i} for i in range(3)])
    create_group(url, queue, "billing", start="0")
    client = redis.Redis.from_url(url)
    client.xreadgroup("billing", "worker-1", {stream_key(queue): ">"}, count=1)
    plain = f"{queue}-plain"  # a plain stream with a pending entry: its page too
    client.xadd(plain, {"customer": "c-1", "total": "12.50"})
    client.xgroup_create(plain, "audit", id="0")
    client.xreadgroup("audit", "reader-1", {plain: ">"}, count=1)
    client.xadd(
        f"sw:{{{queue}}}:dead",
        {
            "payload": json.dumps({"order": 7}),
            "ctype": "json",
            "headers": "{}",
            "error": "ValueError: bad order",
            "traceback": "Traceback (most recent call last):\nValueError: bad order",
            "deliveries": "5",
            "original_id": "1-0",
            "group": "billing",
            "consumer": "worker-1",
            "reason": "max_deliveries",
            "failed_at": str(int(time.time() * 1000)),
        },
    )
    client.close()


# Charts (canvas) and lines (svg) shown without a visible legend (aria-describedby) or a
# tooltip (title on it, an svg <title>, or on its cell).
UNEXPLAINED_GRAPHICS = """
[...document.querySelectorAll("main canvas, main svg:not([aria-hidden=true])")]
  .filter((g) => g.getClientRects().length)
  .filter((g) => {
    const legend = document.getElementById(g.getAttribute("aria-describedby") || "");
    if (legend && legend.getClientRects().length && legend.textContent.trim()) return false;
    const title = g.querySelector(":scope > title");
    if ((title && title.textContent.trim()) || g.title || (g.parentElement && g.parentElement.title)) return false;
    return true;
  })
  .map((g) => g.outerHTML.slice(0, 200))
"""


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, node["target"])) for node in v["nodes"]][:5]
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} at {targets}")
    return "\n".join(lines)


def test_every_page_passes_axe_without_console_errors(stack: str, redis_url, queue_name):
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect, sync_playwright

    _seed(redis_url, queue_name)
    axe = Axe()
    origin = urlsplit(stack).netloc
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page()
        problems: list[str] = []
        page.on(
            "console",
            lambda msg: (
                problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
            ),
        )
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on(
            "response",
            lambda r: (
                problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and urlsplit(r.url).netloc == origin
                else None
            ),
        )
        page.on("requestfailed", lambda r: problems.append(f"failed {r.url}: {r.failure}"))

        failures: dict[str, str] = {}
        checked: list[str] = []

        def check(path: str, prepare: Any = None) -> None:
            # Both colour schemes: the dark one has its own colours, so its own contrast.
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                page.goto(stack + path)
                page.wait_for_load_state("networkidle")
                if prepare:
                    prepare()  # e.g. open a folded form, so axe sees it
                where = f"{path} ({scheme})"
                checked.append(where)
                results = axe.run(page)
                blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING]
                if blocking:
                    failures[where] = _describe(blocking)
                # Issue 17: a badge says what it measures when hovered (ok vs OK side by side).
                untitled = page.evaluate(
                    "[...document.querySelectorAll('.status, .trend')]"
                    ".filter(b => b.offsetParent && !b.title).map(b => b.outerHTML)"
                )
                if untitled:
                    failures[where + " badges without a tooltip"] = "\n".join(untitled)
                # ... and every chart and line has a visible legend or a tooltip.
                unexplained = page.evaluate(UNEXPLAINED_GRAPHICS)
                if unexplained:
                    failures[where + " charts without a legend"] = "\n".join(unexplained)

        check("/login/")
        page.fill("input[name=username]", "ops")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(stack + "/")
        # The overview after the monitor has seen the queue and its group.
        expect(page.locator('tr[data-queue="orders"] [data-field="length"]')).to_have_text(
            "3", timeout=10_000
        )
        check("/")
        check("/queues/orders/")
        assert page.locator("#dead-letters tbody tr").first.is_visible()
        check("/queues/events/")
        check("/alerts/")
        detail = page.locator("tr.alert-row a[href^='/alerts/']").first
        assert detail.is_visible()
        check(detail.get_attribute("href") or "", lambda: page.click("#silence summary"))
        check("/audit/")
        check("/find/?id=1-0")
        check("/admin/")
        for model in ("queues/queuedefinition", "alerts/notificationchannel", "alerts/silence"):
            check(f"/admin/{model}/")
            check(f"/admin/{model}/add/")
        browser.close()

    report = "\n".join(f"{path}:\n{text}" for path, text in failures.items())
    errors = "\n".join(problems)
    assert len(checked) >= 20, checked
    assert (failures, problems) == ({}, []), (
        f"serious/critical axe violations:\n{report}\nconsole errors or failed requests:\n{errors}"
    )
