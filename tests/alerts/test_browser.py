"""End to end in Debian Chromium: claims appear live on the alerts page, an operator
acknowledges one, and the webhook receiver gets one signed, grouped notification.

Runs Daphne, `manage.py monitor` and `manage.py notifier` as subprocesses on a throwaway
SQLite file and the test's redis-server; the claims come from a SIGKILLed library consumer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.backends.webhook import SIGNATURE_HEADER, verify
from tests.alerts.claims import claim_all, kill_consumer_holding, publish
from tests.redis_process import free_port, wait_for

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "browser-test-pw-1"
SECRET = "browser-secret"


def _setup_script(queue: str, hook_url: str) -> str:
    return f"""
from django.contrib.auth import get_user_model
from queues.models import QueueDefinition
from alerts.models import NotificationChannel
get_user_model().objects.create_superuser("ops", "", {PASSWORD!r})
QueueDefinition.objects.create(name="orders", queue={queue!r})
NotificationChannel.objects.create(
    name="hook", backend="alerts.backends.webhook.WebhookBackend", url={hook_url!r},
    secret={SECRET!r}, kinds="claimed")
"""


@pytest.fixture
def stack(tmp_path, redis_url, queue_name, webhook_receiver) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.alerts.browser_settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'browser.sqlite3'}",
        "REDIS_URL": redis_url,
        "STREAMWARDEN_POLL_INTERVAL": "0.5",
        "LOG_LEVEL": "WARNING",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    subprocess.run(
        [*manage, "shell", "-c", _setup_script(queue_name, webhook_receiver.url)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
    )
    daphne = str(Path(sys.executable).with_name("daphne"))
    logs = tmp_path / "logs"
    logs.mkdir()
    commands = {
        "daphne": [daphne, "-b", "127.0.0.1", "-p", str(port), "dashboard.asgi:application"],
        "monitor": [*manage, "monitor", "--interval", "0.5"],
        "notifier": [*manage, "notifier", "--tick", "0.3"],
    }
    procs = []
    for name, cmd in commands.items():
        with open(logs / f"{name}.log", "wb") as log_file:  # the child keeps its own handle
            procs.append(
                subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
            )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: urllib.request.urlopen(base + "/health", timeout=1).status == 200, 20)
        yield base
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs.iterdir():
            tail = log.read_text(errors="replace")[-3000:]
            if "Traceback" in tail:
                print(f"--- {log.name}\n{tail}")


def test_claims_appear_live_are_acknowledged_and_paged_once(
    stack: str, redis_url: str, queue_name: str, webhook_receiver
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page()
        page.goto(stack + "/login/")
        page.fill("input[name=username]", "ops")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(stack + "/")
        page.goto(stack + "/alerts/?kind=claimed")
        expect(page.locator("table#alerts")).to_have_attribute("data-live", "1", timeout=10_000)
        page.evaluate("window.__noReload = 1")

        publish(redis_url, queue_name, 5)
        kill_consumer_holding(redis_url, queue_name, "billing", 5)
        assert len(claim_all(redis_url, queue_name, "billing")) == 5

        rows = page.locator("tr.alert-row")
        expect(rows).to_have_count(5, timeout=10_000)
        assert page.evaluate("window.__noReload") == 1, "the page reloaded"
        expect(rows.first.locator("td").nth(3)).to_have_text("orders")

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
    assert verify(hit.body, SECRET, hit.headers[SIGNATURE_HEADER])
    assert (hit.json["queue"], hit.json["kind"], hit.json["count"]) == ("orders", "claimed", 5)
    assert len(webhook_receiver.received) == 1
