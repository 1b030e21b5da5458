"""Effectively once (queues.contrib.django): a handler's writes and the record of its
message commit together; a redelivered message that took effect is acknowledged unrun."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import redis
from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from queues import AlreadyProcessed, Consumer, Manager, Message, Producer, aio
from queues.contrib.django import idempotent, prune, retention
from queues.contrib.django.models import ProcessedMessage
from queues.keys import queue_keys
from queues.types import make_message
from tests.queues.conftest import FAST
from tests.support.once_effects import add_effect, create_table, drop_table, effects
from tests.support.redis_process import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def effect_table() -> Iterator[None]:
    create_table()
    yield
    drop_table()


def consumer(queue: str, url: str, handler, **options) -> Consumer:
    settings = {**FAST, "backoff_base": 0.0, "claim_idle": 0.2, "handle_signals": False}
    return Consumer(queue, "billing", handler, url, **{**settings, **options})


def drain(c: Consumer, done) -> None:
    """Run bursts until ``done()``: a retry parked for 0 s is released by a later burst."""

    def step() -> bool:
        c.run(burst=True)
        return done()

    wait_for(step, 15, message="the queue settles")


def group_info(url: str, queue: str, group: str = "billing"):
    return Manager(redis=url).info(queue).group(group)


def test_a_handler_that_raises_after_writing_leaves_no_write_and_the_retry_has_one_effect(
    redis_url, queue_name, effect_table
):
    Producer(queue_name, redis=redis_url).publish({"order": 1})
    seen_before: list[dict[str, int]] = []

    def handle(message: Message) -> None:
        seen_before.append(effects())
        add_effect(str(message.payload["order"]))
        if message.deliveries == 1:
            raise RuntimeError("payment gateway timed out after the write")

    c = consumer(queue_name, redis_url, idempotent(handle))
    drain(c, lambda: group_info(redis_url, queue_name).pending == 0)

    assert len(seen_before) == 2
    assert seen_before[1] == {}, "the first run's write was rolled back with its failure"
    assert effects() == {"1": 1}
    assert ProcessedMessage.objects.count() == 1
    assert c.stats.failed == 1 and c.stats.processed == 1 and c.stats.duplicates == 0


def test_a_redelivered_processed_message_is_acked_without_running_the_handler(
    redis_url, queue_name, effect_table
):
    entry_id = Producer(queue_name, redis=redis_url).publish({"order": 7})
    keys = queue_keys(queue_name)
    client = redis.Redis.from_url(redis_url)
    client.xgroup_create(keys.stream, "billing", id="0")
    runs: list[str] = []

    def handle(message: Message) -> None:
        runs.append(message.id)
        add_effect(str(message.payload["order"]))

    # A consumer took the message, committed its effect and died before its ack went out.
    [[_, [(raw_id, _fields)]]] = client.xreadgroup("billing", "died", {keys.stream: ">"})
    assert raw_id.decode() == entry_id
    idempotent(handle)(make_message(entry_id, {"order": 7}, {}, 1, queue_name, "billing", None))
    assert runs == [entry_id] and group_info(redis_url, queue_name).pending == 1

    # Another consumer claims it once idle: recorded, so acknowledged without a run.
    c = consumer(queue_name, redis_url, idempotent(handle), claim_idle=0.05)
    drain(c, lambda: group_info(redis_url, queue_name).pending == 0)

    assert runs == [entry_id]
    assert effects() == {"7": 1}
    assert c.stats.duplicates == 1 and c.stats.processed == 0 and c.stats.failed == 0
    assert group_info(redis_url, queue_name).duplicates == 1


def test_two_consumers_running_one_message_at_once_commit_its_effect_once(effect_table):
    message = make_message("1700000000000-0", {"order": 5}, {}, 1, "q", "billing", None)
    first_inside, finish_first = threading.Event(), threading.Event()
    runs: list[str] = []
    results: dict[str, str] = {}

    def handle(m: Message) -> None:
        runs.append(threading.current_thread().name)
        add_effect("5")
        if threading.current_thread().name == "first":
            first_inside.set()
            finish_first.wait(10)

    def run() -> None:
        name = threading.current_thread().name
        try:
            idempotent(handle)(message)
            results[name] = "ran"
        except AlreadyProcessed:
            results[name] = "already processed"
        finally:
            connection.close()

    first = threading.Thread(target=run, name="first")
    first.start()
    assert first_inside.wait(10)
    second = threading.Thread(target=run, name="second")
    second.start()
    second.join(0.5)
    assert second.is_alive(), "the second waits for the first transaction"
    finish_first.set()
    first.join(10)
    second.join(20)
    assert results == {"first": "ran", "second": "already processed"}
    assert runs == ["first"] and effects() == {"5": 1}


def test_the_record_is_per_group_so_each_group_takes_effect_once(
    redis_url, queue_name, effect_table
):
    Producer(queue_name, redis=redis_url).publish({"order": 3})

    def handle(message: Message) -> None:
        add_effect(f"{message.group}:{message.payload['order']}")

    for group in ("billing", "shipping"):
        c = Consumer(queue_name, group, idempotent(handle), redis_url, handle_signals=False, **FAST)
        c.run(burst=True)
    assert effects() == {"billing:3": 1, "shipping:3": 1}


def test_a_constraint_failure_inside_the_handler_is_a_failure_not_a_duplicate(
    redis_url, queue_name, effect_table
):
    Producer(queue_name, redis=redis_url).publish({"order": 4})

    def handle(message: Message) -> None:
        add_effect("x")
        ProcessedMessage.objects.create(  # violates the unique constraint: a handler bug
            queue=message.queue,
            group=message.group,
            message_id=message.id,
            message_ms=0,
            processed_at=datetime.now(UTC),
        )

    c = consumer(queue_name, redis_url, idempotent(handle), max_deliveries=1)
    drain(c, lambda: Manager(redis=redis_url).info(queue_name).dead == 1)
    assert c.stats.failed == 1 and c.stats.duplicates == 0
    assert effects() == {} and ProcessedMessage.objects.count() == 0


async def test_async_handlers_share_the_transaction_through_django_async_support(
    redis_url, queue_name, effect_table
):
    producer = aio.Producer(queue_name, redis=redis_url)
    await producer.publish({"order": 9})
    calls: list[int] = []

    async def handle(message: Message) -> None:
        calls.append(message.deliveries)
        await sync_to_async(add_effect)(str(message.payload["order"]))
        if message.deliveries == 1:
            raise RuntimeError("failed after the write")

    c = aio.Consumer(queue_name, "billing", idempotent(handle), redis_url, **FAST)
    c.backoff = (0.0, 0.0, 0.0)
    manager = aio.Manager(redis=redis_url)

    async def settled() -> bool:
        return (await manager.info(queue_name)).group("billing").pending == 0

    for _ in range(100):
        await c.run(burst=True)
        if await settled():
            break
        await asyncio.sleep(0.05)
    assert calls == [1, 2]
    assert await sync_to_async(effects)() == {"9": 1}

    # the same message delivered again (its ack lost) is acknowledged without a run
    message = make_message(
        (await sync_to_async(ProcessedMessage.objects.get)()).message_id,
        {"order": 9},
        {},
        3,
        queue_name,
        "billing",
        None,
    )
    with pytest.raises(AlreadyProcessed):
        await idempotent(handle)(message)
    assert calls == [1, 2]


def test_prune_deletes_old_records_in_bulk_but_keeps_what_may_come_again(redis_url, queue_name):
    producer = Producer(queue_name, redis=redis_url)
    ids = [producer.publish({"n": n}) for n in range(4)]
    keys = queue_keys(queue_name)
    client = redis.Redis.from_url(redis_url)
    client.xgroup_create(keys.stream, "billing", id="0")
    client.xreadgroup("billing", "c", {keys.stream: ">"})
    client.xack(keys.stream, "billing", ids[0], ids[1], ids[3])  # ids[2] stays pending
    now = datetime.now(UTC)
    for entry_id, age in zip(ids, (10, 10, 10, 1), strict=True):
        ProcessedMessage.objects.create(
            queue=queue_name,
            group="billing",
            message_id=entry_id,
            message_ms=int(entry_id.split("-")[0]),
            processed_at=now - timedelta(days=age),
        )
    # a group whose stream is gone: nothing can deliver its messages again
    ProcessedMessage.objects.create(
        queue="gone",
        group="g",
        message_id="1-0",
        message_ms=1,
        processed_at=now - timedelta(days=9),
    )

    deleted = prune(redis_url, keep=timedelta(days=7), now=now)

    left = sorted(ProcessedMessage.objects.values_list("message_id", flat=True))
    # ids[0] and ids[1] are acknowledged, below the oldest pending entry: gone. ids[2] is
    # pending (it may be claimed and delivered again); ids[3] is younger than the retention.
    # Ids in the same millisecond as the oldest pending one are kept too (compared by ms).
    kept_same_ms = [i for i in ids[:2] if i.split("-")[0] == ids[2].split("-")[0]]
    assert sorted(left) == sorted([ids[2], ids[3], *kept_same_ms])
    assert deleted == 3 - len(kept_same_ms)


def test_the_prune_command_deletes_what_cannot_come_again(redis_url, queue_name):
    entry_id = Producer(queue_name, redis=redis_url).publish({"n": 1})  # never delivered
    ProcessedMessage.objects.create(
        queue="gone",
        group="g",
        message_id="1-0",
        message_ms=1,
        processed_at=datetime.now(UTC) - timedelta(seconds=5),
    )
    ProcessedMessage.objects.create(  # its group is missing from a stream that exists
        queue=queue_name,
        group="billing",
        message_id=entry_id,
        message_ms=int(entry_id.split("-")[0]),
        processed_at=datetime.now(UTC) - timedelta(seconds=5),
    )
    out = StringIO()
    call_command("prune_processed_messages", "--redis", redis_url, "--older-than", "1", stdout=out)
    assert "deleted 1 processed-message records" in out.getvalue()
    assert list(ProcessedMessage.objects.values_list("message_id", flat=True)) == [entry_id]


def test_retention_is_a_setting_with_a_clear_error(settings):
    assert retention() == timedelta(days=7)
    settings.STREAMWARDEN_ONCE_RETENTION = 3600
    assert retention() == timedelta(hours=1)
    settings.STREAMWARDEN_ONCE_RETENTION = "a week"
    with pytest.raises(ImproperlyConfigured, match="STREAMWARDEN_ONCE_RETENTION"):
        retention()


def test_importing_queues_does_not_import_django_but_the_contrib_does():
    code = (
        "import sys, queues, queues.aio\n"
        "assert 'django' not in sys.modules\n"
        "import queues.contrib.django\n"
        "assert 'django' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
