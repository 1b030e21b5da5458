"""Measurement of the trend evaluator on the real monitor, on real traffic, and of its cost.

    python -m tests.bench.trend [--seconds 300] [--interval 2]
    python -m tests.bench.trend --observe [--groups 30000] [--cycles 5]

A private redis-server, a throwaway SQLite file and ``manage.py monitor`` (default
settings: 60 s trend window, 20 s hold) as subprocesses (tests.support.live_stack). A library
Producer publishes 50 msg/s to one queue read by two groups:

- ``slow`` reads batches of 100 every 4 s (25 msg/s): its lag climbs 25 msg/s in a
  saw-tooth. Its trend must leave OK within one window and stay so.
- ``fast`` reads everything every 0.2 s: its lag stays near-empty (0..10). It must open no
  trend alert.

Every second the script reads what the monitor stored (QueueState: trend, lag, breach
forecast per group) and at the end the trend alerts it opened. The slow group's "breach in"
forecasts (lag alert threshold 5 000) are compared with when its lag really crossed it.
Prints the figures as Markdown tables. A script, not a test: it takes minutes.

``--observe`` times ``GroupTrend.observe`` alone, in this process, no Redis: ``--groups``
trackers (default 30 000: 10 000 queues × 3 groups) with the default policy, each window
filled with 60 samples a second apart (``advance``: no verdicts on the way), then
``--cycles`` cycles of one sample per group, timed. Two kinds of groups: *busy* (lag and
reads change every sample: a saw-tooth with noise, consumers active, so the window is never
steady) and *idle* (the same sample again: the steady path). Each against the tracker that
refits its window every sample (tests.support.trend_reference, today's code until
2026-12-01). Prints µs per observe, the median cycle's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import redis

from dashboard.monitor.trend import GroupTrend, Policy, Sample
from queues import Producer
from tests.bench.environment import cpu_model, describe
from tests.support.live_stack import running_stack
from tests.support.redis_process import RedisServer
from tests.support.trend_reference import RefitTrend

RATE_IN = 50.0
SLOW_BATCH, SLOW_EVERY = 100, 4.0
FAST_EVERY = 0.2
LAG_ALERT = 5_000  # the slow group crosses it after ~200 s

SETUP = """
from dashboard.catalog.models import QueueDefinition, Threshold
q = QueueDefinition.objects.create(name="orders", queue={queue!r})
Threshold.objects.create(queue=q, lag_warn={lag_alert}, lag_alert={lag_alert})
"""


@dataclass
class Seen:
    """What the monitor stored for one group, one row per second of the run."""

    rows: list[tuple[float, str, int | None, float | None]] = field(default_factory=list)


def _produce(url: str, queue: str, stop: threading.Event) -> None:
    producer = Producer(queue, redis=url)
    started, sent = time.monotonic(), 0
    while not stop.is_set():
        due = int((time.monotonic() - started) * RATE_IN)
        if due > sent:
            producer.publish_many([{"n": n} for n in range(sent, due)])
            sent = due
        stop.wait(0.02)


def _consume(
    url: str, queue: str, group: str, batch: int, every: float, stop: threading.Event
) -> None:
    client = redis.Redis.from_url(url)
    key = f"sw:{{{queue}}}:stream"
    while not stop.wait(every):
        reply: Any = client.xreadgroup(group, "worker-1", {key: ">"}, count=batch)
        ids = [entry_id for _, entries in reply or [] for entry_id, _ in entries]
        if ids:
            client.xack(key, group, *ids)
    client.close()


def _stored(database: Path) -> dict[str, dict]:
    with sqlite3.connect(database) as db:
        row = db.execute("SELECT data FROM dashboard_queuestate WHERE queue = 'orders'").fetchone()
    if row is None:
        return {}
    return {g["name"]: g for g in json.loads(row[0])["groups"]}


def _trend_alerts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        rows = db.execute(
            'SELECT "group", COUNT(*) FROM alerts_alert WHERE kind = \'trend\' GROUP BY "group"'
        ).fetchall()
    return {group: count for group, count in rows}


def run(args: argparse.Namespace, server: RedisServer, tmp: Path) -> tuple[dict, dict]:
    queue = f"trend-{uuid.uuid4().hex[:8]}"
    client = server.client()
    key = f"sw:{{{queue}}}:stream"
    for group in ("slow", "fast"):
        client.xgroup_create(key, group, id="$", mkstream=True)
    seen = {"slow": Seen(), "fast": Seen()}
    stop = threading.Event()
    with running_stack(
        tmp,
        env={
            "DJANGO_SETTINGS_MODULE": "dashboard.settings.test",
            "REDIS_URL": server.url,
            "STREAMWARDEN_POLL_INTERVAL": str(args.interval),
            "STREAMWARDEN_ACTIVE_IDLE": "30",
        },
        setup_script=SETUP.format(queue=queue, lag_alert=LAG_ALERT),
        commands={"monitor": ["monitor", "--interval", str(args.interval)]},
    ):
        threads = [
            threading.Thread(target=_produce, args=(server.url, queue, stop)),
            threading.Thread(
                target=_consume, args=(server.url, queue, "slow", SLOW_BATCH, SLOW_EVERY, stop)
            ),
            threading.Thread(
                target=_consume, args=(server.url, queue, "fast", 10_000, FAST_EVERY, stop)
            ),
        ]
        for group in ("slow", "fast"):  # the consumers exist, and are active, from the start
            client.xgroup_createconsumer(key, group, "worker-1")
        for thread in threads:
            thread.start()
        started = time.monotonic()
        try:
            while (elapsed := time.monotonic() - started) < args.seconds:
                groups = _stored(tmp / "browser.sqlite3")
                for name, record in seen.items():
                    g = groups.get(name)
                    if g is not None:
                        record.rows.append((elapsed, g["trend"], g["lag"], g["breach_seconds"]))
                        if g["trend"] != "OK" and args.verbose:
                            print(
                                f"{elapsed:.0f}s {name}: {g['trend']} lag {g['lag']} "
                                f"consumers {g['active_consumers']}/{g['consumers']}"
                            )
                time.sleep(1.0)
        finally:
            stop.set()
            for thread in threads:
                thread.join(10)
        alerts = _trend_alerts(tmp / "browser.sqlite3")
    return seen, alerts


WINDOW_SAMPLES = 60  # a 60 s window polled every second


def _busy(group: int, step: int) -> Sample:
    """A group whose lag and reads move every poll (never a steady window)."""
    rng = random.Random(group * 1_000_003 + step)
    read = step * 25 + group % 7
    lag = 400 + (step * 50) % 100 + rng.randint(0, 30) + group % 50
    return Sample(1_800_000_000_000 + step * 1000, read, lag, f"{1_700_000_000_000 + read}-0", 1)


def _idle(group: int, step: int) -> Sample:
    """A group with nothing to do: the same poll again (the steady path)."""
    return Sample(1_800_000_000_000 + step * 1000, 1000 + group, 0, "1700000000000-0", 1)


def time_observe(
    tracker: Callable[[Policy], GroupTrend | RefitTrend],
    sample: Callable[[int, int], Sample],
    groups: int,
    cycles: int,
) -> float:
    """µs per observe, the median cycle's, over ``groups`` trackers with full windows."""
    policy = Policy()
    trackers = [tracker(policy) for _ in range(groups)]
    for step in range(WINDOW_SAMPLES):
        for g, t in enumerate(trackers):
            t.advance(sample(g, step))
    per_cycle = []
    for step in range(WINDOW_SAMPLES, WINDOW_SAMPLES + cycles):
        batch = [sample(g, step) for g in range(groups)]
        started = time.process_time()
        for t, s in zip(trackers, batch, strict=True):
            t.observe(s)
        per_cycle.append((time.process_time() - started) / groups * 1e6)
    return median(per_cycle)


def observe_main(args: argparse.Namespace) -> None:
    print()
    print(
        f"`GroupTrend.observe` on {args.groups:,} groups, windows of {WINDOW_SAMPLES} samples "
        f"(default policy), median of {args.cycles} cycles, µs of CPU per observe:"
    )
    print()
    print("| groups | refit every sample (reference) | running sums | speed-up |")
    print("| --- | ---: | ---: | ---: |")
    for name, sample in (("busy", _busy), ("idle", _idle)):
        before = time_observe(RefitTrend, sample, args.groups, args.cycles)
        after = time_observe(GroupTrend, sample, args.groups, args.cycles)
        print(f"| {name} | {before:.1f} | {after:.1f} | ×{before / after:.1f} |")
    print()
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), Python "
        f"{platform.python_version()}; {dt.date.today().isoformat()}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--interval", type=float, default=2.0, help="monitor poll interval, s")
    parser.add_argument("--verbose", action="store_true", help="print every non-OK sample")
    parser.add_argument("--observe", action="store_true", help="time observe() alone")
    parser.add_argument("--groups", type=int, default=30_000, help="with --observe")
    parser.add_argument("--cycles", type=int, default=5, help="with --observe")
    args = parser.parse_args()
    if args.observe:
        observe_main(args)
        return
    server = RedisServer().start()
    tmp = Path(tempfile.mkdtemp(prefix="sw-bench-trend-"))
    try:
        version = server.client().info("server")["redis_version"]
        seen, alerts = run(args, server, tmp)
    finally:
        server.close()
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(
        f"Trend on the real monitor: producer {RATE_IN:g} msg/s; group slow reads "
        f"{SLOW_BATCH} every {SLOW_EVERY:g} s, group fast everything every {FAST_EVERY:g} s; "
        f"monitor polling every {args.interval:g} s, {args.seconds:g} s run, default trend "
        f"settings."
    )
    print(describe(version))
    slow = seen["slow"].rows
    crossed = next((t for t, _, lag, _ in slow if lag is not None and lag >= LAG_ALERT), None)
    errors = [
        abs(t + breach - crossed) / (crossed - t)
        for t, _, _, breach in slow
        if crossed is not None and breach and 60 <= t < crossed - 10
    ]
    print()
    print(
        f"Forecast of the slow group's breach (lag ≥ {LAG_ALERT:,}): it crossed at "
        f"{'never' if crossed is None else f'{crossed:.0f} s'}; "
        f"{len(errors)} forecasts from 60 s until 10 s before it, error against the real "
        f"remaining time: median {100 * median(errors) if errors else float('nan'):.0f} %, "
        f"max {100 * max(errors, default=float('nan')):.0f} %."
    )
    print()
    print(
        "| group | lag min..max | first not OK (s) | not OK after that | trend states seen "
        "| trend alerts opened |"
    )
    print("| --- | --- | ---: | ---: | --- | ---: |")
    for name, record in seen.items():
        lags = [lag for _, _, lag, _ in record.rows if lag is not None]
        bad = [t for t, trend, _, _ in record.rows if trend != "OK"]
        first = bad[0] if bad else None
        after = [
            trend != "OK" for t, trend, _, _ in record.rows if first is not None and t >= first
        ]
        share = f"{100 * sum(after) / len(after):.0f} %" if after else "–"
        states = sorted({trend for _, trend, _, _ in record.rows})
        print(
            f"| {name} | {min(lags, default=0)}..{max(lags, default=0)} | "
            f"{'never' if first is None else f'{first:.0f}'} | {share} | {', '.join(states)} | "
            f"{alerts.get(name, 0)} |"
        )


if __name__ == "__main__":
    main()
