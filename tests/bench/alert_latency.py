"""Benchmark of claim → alert row → browser latency on the real stack.

    python -m tests.bench.alert_latency [--rounds 12] [--per-round 5] [--interval 0.5]

A private redis-server, a throwaway SQLite file, Daphne and ``manage.py monitor --interval
0.5`` as subprocesses (tests.support.live_stack), and the alerts page open in Debian Chromium,
logged in. Each round a library Consumer subprocess takes ``--per-round`` messages and is
SIGKILLed holding them; a rescuer Consumer claims them (tests.support.claims), which writes
one ``claimed`` event per message. For every claimed message it measures the event's
``time`` (Redis TIME, taken in the claim script) → the Alert row's ``created_at`` → the row
appearing in the page's DOM (a MutationObserver records ``Date.now()`` per row). Same host,
same clock. Prints p50/p95/max as a Markdown table. A script, not a test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench.environment import describe
from tests.support.claims import claim_all, kill_consumer_holding, publish
from tests.support.live_stack import CHROMIUM, launch_chromium, running_stack
from tests.support.redis_process import RedisServer, wait_for

PASSWORD = "bench-latency-pw-1"
GROUP = "billing"

SETUP = """
from django.contrib.auth import get_user_model
from dashboard.catalog.models import QueueDefinition
get_user_model().objects.create_superuser("ops", "", {password!r})
QueueDefinition.objects.create(name="orders", queue={queue!r})
"""

# Records when each alert row first enters the table body (rows are inserted, or replaced
# on an update: only the first appearance counts).
OBSERVER = """
() => {
  window.__seen = {};
  const tbody = document.querySelector("table#alerts tbody");
  new MutationObserver((mutations) => {
    const now = Date.now();
    for (const m of mutations) for (const node of m.addedNodes) {
      const id = node.dataset && node.dataset.id;
      if (id && !(id in window.__seen)) window.__seen[id] = now;
    }
  }).observe(tbody, {childList: true});
}
"""


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0..100), linear between closest ranks."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def alert_rows(database: Path) -> dict[str, tuple[float, float]]:
    """Alert id -> (claim event time ms, row created_at ms) of every ``claimed`` row."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT id, created_at, details FROM alerts_alert WHERE kind = 'claimed'"
        ).fetchall()
    out = {}
    for pk, created_at, details in rows:
        created = datetime.fromisoformat(created_at).replace(tzinfo=UTC)
        out[str(pk)] = (float(json.loads(details)["time"]), created.timestamp() * 1000)
    return out


def run(args: argparse.Namespace, server: RedisServer, tmp: Path) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    queue = f"lat-{uuid.uuid4().hex[:8]}"
    with running_stack(
        tmp,
        env={
            "DJANGO_SETTINGS_MODULE": "dashboard.settings.test",
            "REDIS_URL": server.url,
            "STREAMWARDEN_POLL_INTERVAL": str(args.interval),
        },
        setup_script=SETUP.format(password=PASSWORD, queue=queue),
        commands={"monitor": ["monitor", "--interval", str(args.interval)]},
    ) as base:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page()
            page.goto(base + "/login/")
            page.fill("input[name=username]", "ops")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/")
            page.goto(base + "/alerts/?kind=claimed")
            page.wait_for_selector("table#alerts[data-live='1']", timeout=10_000)
            page.evaluate(OBSERVER)
            page.evaluate("window.__noReload = 1")
            total = 0
            for round_no in range(args.rounds):
                publish(server.url, queue, args.per_round)
                kill_consumer_holding(server.url, queue, GROUP, args.per_round)
                claimed = claim_all(server.url, queue, GROUP)
                assert len(claimed) == args.per_round, claimed
                total += args.per_round
                wait_for(
                    lambda n=total: page.evaluate("Object.keys(window.__seen).length") >= n,
                    timeout=15,
                    interval=0.05,
                    message=f"{total} rows in the browser",
                )
                print(f"  round {round_no + 1}: {total} claims seen in the browser", flush=True)
            seen: dict[str, Any] = page.evaluate("window.__seen")
            assert page.evaluate("window.__noReload") == 1, "the alerts page reloaded"
            browser.close()
        rows = alert_rows(tmp / "browser.sqlite3")
    assert len(rows) == total, f"{len(rows)} claimed rows for {total} claims"
    result: dict[str, list[float]] = {"claim → row": [], "row → browser": [], "claim → browser": []}
    for pk, (claim_ms, row_ms) in rows.items():
        browser_ms = float(seen[pk])
        result["claim → row"].append(row_ms - claim_ms)
        result["row → browser"].append(browser_ms - row_ms)
        result["claim → browser"].append(browser_ms - claim_ms)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--per-round", type=int, default=5)
    parser.add_argument("--interval", type=float, default=0.5, help="monitor poll interval, s")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} not found: apt-get install -y chromium (make sysdeps)")
    started = time.monotonic()
    server = RedisServer().start()
    tmp = Path(tempfile.mkdtemp(prefix="sw-bench-latency-"))
    try:
        version = server.client().info("server")["redis_version"]
        result = run(args, server, tmp)
    finally:
        server.close()
        shutil.rmtree(tmp, ignore_errors=True)

    claims = len(result["claim → browser"])
    print()
    print(
        f"Claim → alert latency: {claims} claims ({args.rounds} rounds of {args.per_round} "
        f"messages held by a SIGKILLed consumer, claimed by a rescuer), monitor polling every "
        f"{args.interval:g} s, alerts page open in Chromium over the websocket."
    )
    print(describe(version) + f" Whole run {time.monotonic() - started:.0f} s.")
    print()
    print("| step | p50 ms | p95 ms | max ms |")
    print("| --- | ---: | ---: | ---: |")
    for step, values in result.items():
        print(
            f"| {step} | {percentile(values, 50):,.0f} | {percentile(values, 95):,.0f} | "
            f"{max(values):,.0f} |"
        )


if __name__ == "__main__":
    main()
