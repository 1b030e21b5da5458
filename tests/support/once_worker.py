"""Processes of the effectively-once chaos run and benchmark, run as
``python -m tests.support.once_worker setup|consume|report DATABASE_URL ...``.

Each configures a minimal Django of its own (only ``queues.contrib.django``) on the given
database, so the consumers share the database the test reads the effects from.
"""

from __future__ import annotations

import json
import sys
from typing import Any

GROUP = "once"


def configure(database_url: str) -> None:
    import dj_database_url
    import django
    from django.conf import settings

    database: dict[str, Any] = dict(dj_database_url.parse(database_url))
    if database["ENGINE"].endswith("sqlite3"):
        # several consumer processes write: WAL, IMMEDIATE transactions and a busy timeout
        database["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    settings.configure(
        INSTALLED_APPS=["queues.contrib.django"],
        DATABASES={"default": database},
        USE_TZ=True,
        TIME_ZONE="UTC",
    )
    django.setup()


def setup() -> None:
    from django.core.management import call_command

    from tests.support.once_effects import create_table

    call_command("migrate", "queues_once", verbosity=0)
    create_table()
    from queues.contrib.django.models import ProcessedMessage

    ProcessedMessage.objects.all().delete()
    print("ready", flush=True)


def consume(redis_url: str, queue: str, name: str, guarded: bool) -> None:
    from queues import Consumer, Message
    from queues.contrib.django import idempotent
    from tests.support.once_effects import add_effect

    def handle(message: Message) -> None:
        add_effect(f"{message.payload['p']}:{message.payload['s']}")

    Consumer(
        queue,
        GROUP,
        idempotent(handle) if guarded else handle,
        redis_url,
        name=name,
        claim_idle=1.0,
        max_deliveries=20,  # a kill mid-handler costs a delivery; nothing may dead-letter
        backoff_base=0.05,
        backoff_max=0.2,
        batch_size=50,
        block_ms=200,
    ).run()


def report() -> None:
    from queues.contrib.django.models import ProcessedMessage
    from tests.support.once_effects import effects

    print(json.dumps({"effects": effects(), "records": ProcessedMessage.objects.count()}))


if __name__ == "__main__":
    role, database_url, *args = sys.argv[1:]
    configure(database_url)
    if role == "setup":
        setup()
    elif role == "consume":
        consume(args[0], args[1], args[2], args[3] == "guarded")
    elif role == "report":
        report()
    else:
        raise SystemExit(f"unknown role {role!r}")
