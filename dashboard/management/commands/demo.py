"""`manage.py demo` — a demo workload so a newcomer sees live charts, claims, dead letters and
alerts within a minute of `make run` (switch off with STREAMWARDEN_DEMO=0).

Three queues: ``demo.orders`` fanned out to two groups (billing is quick, shipping is slow and
falls behind during bursts), ``demo.emails`` where one consumer process crashes mid-handler now
and then (its messages are claimed by the healthy one: claimed alerts), and ``demo.payments``
with poison messages that are retried and end in the dead-letter stream.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.core.management.base import BaseCommand

from dashboard import conf
from dashboard.catalog.models import QueueDefinition
from queues import Consumer, ConsumerBusy, GroupExists, Manager, Message, Producer
from queues.keys import queue_keys

log = logging.getLogger("streamwarden.demo")

ORDERS, EMAILS, PAYMENTS = "demo.orders", "demo.emails", "demo.payments"
CLAIM_IDLE = 5.0


def _rate(base: float, started: float) -> float:
    """Messages per second: a slow wave plus a 5x burst for 6 s out of every 45 s."""
    elapsed = time.monotonic() - started
    wave = base * (1 + 0.5 * math.sin(elapsed / 20))
    return wave * (5 if elapsed % 45 < 6 else 1)


class Command(BaseCommand):
    help = "Run a demo workload against REDIS_URL (producers, consumers, a crasher, poison)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--role", choices=["all", "crasher"], default="all")

    def handle(self, *args: Any, role: str, **options: Any) -> None:
        url = conf.redis_url()
        if role == "crasher":
            self._crasher(url)
            return
        self._define_queues(url)
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        consumers = self._consumers(url)
        threads = [threading.Thread(target=c.run, daemon=True) for c in consumers]
        threads += [
            threading.Thread(target=self._produce, args=(url, q, r, stop), daemon=True)
            for q, r in ((ORDERS, 20.0), (EMAILS, 8.0), (PAYMENTS, 5.0))
        ]
        for thread in threads:
            thread.start()
        self.stdout.write("Demo workload running on demo.orders, demo.emails, demo.payments")
        crasher: subprocess.Popen[bytes] | None = None
        next_crasher = time.monotonic() + 3
        manager = Manager(redis=url)
        # Dead crashers (of this run, and of earlier runs still in Redis), removed once claimed.
        crashed = [
            c.name
            for c in manager.info(EMAILS).group("mailer").consumers
            if c.name.startswith("mailer-crashy-")
        ]
        while not stop.wait(0.5):
            if crasher is not None and crasher.poll() is not None:
                crashed.append(f"mailer-crashy-{crasher.pid}")
                crasher, next_crasher = None, time.monotonic() + 20
            crashed = [name for name in crashed if not self._forget(manager, name)]
            if crasher is None and time.monotonic() >= next_crasher:
                crasher = subprocess.Popen(
                    [
                        sys.executable,
                        str(Path(settings.BASE_DIR) / "manage.py"),
                        "demo",
                        "--role",
                        "crasher",
                    ]
                )
        if crasher is not None and crasher.poll() is None:
            crasher.terminate()
        for consumer in consumers:
            consumer.stop()

    @staticmethod
    def _forget(manager: Manager, consumer: str) -> bool:
        """Delete a dead crasher from its group once its messages were claimed away."""
        try:
            manager.delete_consumer(EMAILS, "mailer", consumer)
        except ConsumerBusy:
            return False  # still holds messages: the healthy consumer claims them first
        except Exception:  # noqa: BLE001 - Redis may be down; try again next round
            return False
        return True

    def _define_queues(self, url: str) -> None:
        manager = Manager(redis=url)
        for name, groups, notes in (
            (ORDERS, ["billing", "shipping"], "Demo: fan-out to two groups; shipping is slow."),
            (EMAILS, ["mailer"], "Demo: one consumer crashes mid-handler; claims appear."),
            (PAYMENTS, ["ledger"], "Demo: poison messages end in the dead-letter stream."),
        ):
            for group in groups:
                with contextlib.suppress(GroupExists):  # a restart finds them in Redis
                    manager.create_group(name, group, start="0")
            QueueDefinition.objects.get_or_create(
                name=name, defaults={"groups": groups, "notes": notes}
            )
        # One entry no serializer can read, as a foreign producer might write it.
        redis.Redis.from_url(url).xadd(queue_keys(PAYMENTS).stream, {"garbage": b"\xff\xfe"})

    def _consumers(self, url: str) -> list[Consumer]:
        def billing(message: Message) -> None:
            time.sleep(0.002)

        def shipping(message: Message) -> None:
            time.sleep(0.08)

        def mailer(message: Message) -> None:
            time.sleep(0.01)

        def ledger(message: Message) -> None:
            if isinstance(message.payload, dict) and message.payload.get("poison"):
                raise ValueError(f"cannot book payment {message.payload.get('n')}: poison")

        common: dict[str, Any] = {"handle_signals": False, "claim_idle": CLAIM_IDLE}
        return [
            Consumer(ORDERS, "billing", billing, url, name="billing-1", **common),
            Consumer(ORDERS, "shipping", shipping, url, name="shipping-1", **common),
            Consumer(EMAILS, "mailer", mailer, url, name="mailer-healthy", **common),
            Consumer(
                PAYMENTS,
                "ledger",
                ledger,
                url,
                name="ledger-1",
                max_deliveries=3,
                backoff_base=0.5,
                **common,
            ),
        ]

    def _produce(self, url: str, queue: str, base_rate: float, stop: threading.Event) -> None:
        producer = Producer(queue, redis=url)
        started, n = time.monotonic(), 0
        while not stop.is_set():
            tick = 0.2
            count = max(0, round(random.gauss(_rate(base_rate, started) * tick, 1)))
            batch = [
                {
                    "n": n + i,
                    "poison": queue == PAYMENTS and (n + i) % 40 == 7,
                    "body": f"demo message {n + i}",
                }
                for i in range(count)
            ]
            n += count
            try:
                if batch:
                    producer.publish_many(batch)
            except Exception:  # noqa: BLE001 - the demo keeps going through outages
                log.warning("demo producer for %s could not publish", queue, exc_info=True)
            stop.wait(tick)

    def _crasher(self, url: str) -> None:
        """A consumer that dies mid-handler after a few messages, holding its batch."""
        budget = random.randint(20, 60)

        def handler(message: Message) -> None:
            nonlocal budget
            budget -= 1
            if budget <= 0:
                os._exit(1)  # crash: no ack, messages stay in this consumer's PEL
            time.sleep(0.01)

        name = f"mailer-crashy-{os.getpid()}"
        Consumer(
            EMAILS,
            "mailer",
            handler,
            url,
            name=name,
            claim_idle=CLAIM_IDLE,
            batch_size=20,
            concurrency=1,
        ).run()
