"""Screenshots of the overview (light, dark), a queue page and the alerts page for the
README, on the real stack.

    python -m tests.support.screenshots [--out docs/screenshots]

A private redis-server, a throwaway SQLite file, Daphne and ``manage.py monitor`` (a 20 s
trend window so the picture is ready in a minute); three queues: ``orders`` kept up with,
``shipping`` whose consumer reads half of what comes in (its lag climbs: trend WARN with
its slope, a breach forecast), ``mail`` with 226 dead letters (status alert, and why).
Debian Chromium takes the pictures. A script, not a test.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import redis

from queues import Producer
from tests.support.live_stack import launch_chromium, running_stack
from tests.support.redis_process import RedisServer

PASSWORD = "screenshots-pw-1"
SETUP = """
from django.contrib.auth import get_user_model
from dashboard.catalog.models import QueueDefinition, Threshold
get_user_model().objects.create_superuser("ops", "", {password!r})
for name, queue in {queues!r}.items():
    QueueDefinition.objects.create(name=name, queue=queue)
Threshold.objects.create(queue=QueueDefinition.objects.get(name="shipping"), lag_warn=2000,
                         lag_alert=5000)
"""


def _traffic(url: str, queues: dict[str, str], stop: threading.Event) -> None:
    client = redis.Redis.from_url(url)
    producers = {name: Producer(queue, redis=url) for name, queue in queues.items()}
    tick = 0
    while not stop.wait(0.2):
        tick += 1
        for name in ("orders", "shipping"):
            producers[name].publish_many([{"n": tick}] * 10)  # 50 msg/s each
        orders = f"sw:{{{queues['orders']}}}:stream"
        shipping = f"sw:{{{queues['shipping']}}}:stream"
        for key, group, count in ((orders, "billing", 100), (shipping, "dispatch", 5)):
            reply = client.xreadgroup(group, "worker-1", {key: ">"}, count=count)
            ids = [i for _, entries in reply or [] for i, _ in entries]
            if ids:
                client.xack(key, group, *ids)
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--seconds", type=float, default=45)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = uuid.uuid4().hex[:6]
    queues = {n: f"{n}-{suffix}" for n in ("orders", "shipping", "mail")}
    server = RedisServer().start()
    tmp = Path(tempfile.mkdtemp(prefix="sw-screens-"))
    stop = threading.Event()
    try:
        client = server.client()
        for name, group in (("orders", "billing"), ("shipping", "dispatch"), ("mail", "send")):
            key = f"sw:{{{queues[name]}}}:stream"
            client.xgroup_create(key, group, id="$", mkstream=True)
            client.xgroup_createconsumer(key, group, "worker-1")
        Producer(queues["mail"], redis=server.url).publish_many([{"to": "a@example.com"}] * 3)
        dead = f"sw:{{{queues['mail']}}}:dead"
        for i in range(226):
            client.xadd(dead, {"payload": "{}", "ctype": "json", "original_id": f"{i}-0"})
        with running_stack(
            tmp,
            env={
                "DJANGO_SETTINGS_MODULE": "dashboard.settings.test",
                "REDIS_URL": server.url,
                "STREAMWARDEN_POLL_INTERVAL": "1",
                "STREAMWARDEN_SNAPSHOT_INTERVAL": "2",
                "STREAMWARDEN_TREND_WINDOW": "20",
                "STREAMWARDEN_TREND_FOR": "5",
            },
            setup_script=SETUP.format(password=PASSWORD, queues=queues),
            commands={"monitor": ["monitor", "--interval", "1"]},
        ) as base:
            traffic = threading.Thread(target=_traffic, args=(server.url, queues, stop))
            traffic.start()
            time.sleep(args.seconds)  # let history, trend and forecasts build up
            from playwright.sync_api import sync_playwright

            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                page = browser.new_page(viewport={"width": 1500, "height": 900})
                page.goto(base + "/login/")
                page.fill("input[name=username]", "ops")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(base + "/")
                page.wait_for_timeout(3000)
                page.screenshot(path=str(out / "overview.png"))
                page.emulate_media(color_scheme="dark")  # prefers-color-scheme: dark
                page.screenshot(path=str(out / "overview-dark.png"))
                page.emulate_media(color_scheme="light")
                page.goto(base + "/alerts/")
                page.wait_for_selector("#alert-groups-table tr.alert-group")
                page.screenshot(path=str(out / "alerts.png"))
                page.goto(base + "/")
                page.set_viewport_size({"width": 1500, "height": 1500})  # down to the groups
                page.click('tr[data-queue="shipping"] a')
                page.click('#ranges button[data-range="5m"]')
                page.wait_for_timeout(4000)
                page.screenshot(path=str(out / "queue.png"), full_page=False)
                browser.close()
            stop.set()
            traffic.join(10)
    finally:
        stop.set()
        server.close()
        shutil.rmtree(tmp, ignore_errors=True)
    names = ("overview.png", "overview-dark.png", "queue.png", "alerts.png")
    print("wrote " + ", ".join(str(out / name) for name in names))


if __name__ == "__main__":
    main()
