"""Deleting a consumer that a real process is running, with entries in its hands, loses none.

A real consumer process reads a batch and blocks in its handler (a gate key in Redis). The
operator's delete is refused while it holds entries; a hand-over moves them to another
consumer. Then the process dies holding them (SIGKILL): a fresh consumer process claims what
was handed over and handles every message published, and nothing stays pending. (A forced
drop would have taken the entries out of the pending list: the dead process' batch would
never be delivered again.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import redis
from django.contrib.auth.models import Permission
from django.test import Client

from dashboard.catalog.models import QueueDefinition
from dashboard.monitor.library import reset_managers
from queues import Producer
from tests.support.queue_data import stream_key
from tests.support.redis_process import wait_for

pytestmark = pytest.mark.django_db

URL = "/api/queues/orders/consumers/delete/"
MESSAGES = 20

WORKER = textwrap.dedent(
    """
    import sys, time
    import redis
    from queues import Consumer

    url, queue, name = sys.argv[1], sys.argv[2], sys.argv[3]
    record = redis.Redis.from_url(url)

    def handler(message):
        while not record.exists("gate-open"):  # held until the test opens the gate
            time.sleep(0.01)
        record.hincrby("handled", str(message.payload["n"]), 1)

    Consumer(queue, "billing", handler, url, name=name, batch_size=5,
             claim_idle=1.0, block_ms=100).run()
    """
)


@pytest.fixture
def ops(django_user_model) -> Client:
    user = django_user_model.objects.create_user("ops", password="pw-for-tests-1")
    for codename in ("operate_queue", "destroy_queue"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def _delete(client: Client, **body) -> dict:
    response = client.post(
        URL, json.dumps({"group": "billing", "consumer": "worker-1", **body}), "application/json"
    )
    return {"status": response.status_code, **response.json()}


def test_deleting_a_busy_consumer_process_loses_none_of_its_entries(
    ops, redis_url, queue_name, redis_client: redis.Redis
):
    reset_managers()
    QueueDefinition.objects.create(name="orders", queue=queue_name)
    producer = Producer(queue_name, redis=redis_url)
    producer.publish_many([{"n": n} for n in range(MESSAGES)])
    producer.close()
    worker = subprocess.Popen([sys.executable, "-c", WORKER, redis_url, queue_name, "worker-1"])
    successor = None
    key = stream_key(queue_name)
    try:
        held = wait_for(
            lambda: redis_client.xpending(key, "billing")["pending"],
            timeout=30,
            message="the consumer process never took a batch",
        )

        refused = _delete(ops)
        assert refused["status"] == 409 and refused["pending"] >= held
        assert redis_client.xpending(key, "billing")["pending"] == refused["pending"]

        handed = _delete(ops, hand_to="worker-2")
        assert handed["status"] == 200 and handed["result"] == refused["pending"]
        owners = redis_client.xpending(key, "billing")["consumers"]
        assert [(o["name"], o["pending"]) for o in owners] == [(b"worker-2", handed["result"])]

        worker.kill()  # dies with the batch in its hands, nothing handled
        worker.wait(timeout=30)
        assert redis_client.hlen("handled") == 0
        redis_client.set("gate-open", 1)
        successor = subprocess.Popen(
            [sys.executable, "-c", WORKER, redis_url, queue_name, "worker-3"]
        )
        wait_for(
            lambda: (
                redis_client.hlen("handled") == MESSAGES
                and redis_client.xpending(key, "billing")["pending"] == 0
            ),
            timeout=60,
            message="a message of the deleted consumer was never handled",
        )
        assert sorted(int(n) for n in redis_client.hkeys("handled")) == list(range(MESSAGES))
    finally:
        for process in (worker, successor):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        reset_managers()
