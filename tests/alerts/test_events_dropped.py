"""Library events dropped at the events stream's hard bound raise an events_dropped alert."""

from __future__ import annotations

import pytest
import redis

from alerts.ingest import GROUP, ingest_events
from alerts.models import Alert, AlertKind
from queues import Consumer, Manager, events
from queues.keys import queue_keys

pytestmark = pytest.mark.django_db(transaction=True)

PREFILL = """
for i = 1, tonumber(ARGV[1]) do
  redis.call('XADD', KEYS[1], '*', 'type', 'retried', 'queue', ARGV[2], 'id', '1-' .. i)
end
"""


def test_events_dropped_at_the_bound_become_an_alert(
    redis_url: str, redis_client: redis.Redis, queue_name: str
) -> None:
    keys = queue_keys(queue_name)
    assert ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m") == 0
    redis_client.eval(PREFILL, 1, keys.events, events.HARD_MAX_EVENTS, queue_name)
    manager = Manager(redis=redis_url)
    # a monitor that died holding 10 events: the stream cannot be trimmed safely any more
    assert len(manager.read_events([queue_name], GROUP, "dead-monitor", count=10)) == 10
    last = redis_client.xrevrange(keys.events, count=1)[0][0]
    redis_client.xgroup_setid(keys.events, GROUP, last)  # the rest were ingested
    manager.close()

    # the mover dead-letters bad delayed tickets, each with an event, past the bound
    redis_client.zadd(keys.delayed, {f"bad ticket {i}": 0 for i in range(events.CHECK_EVERY + 6)})
    consumer = Consumer(queue_name, "g", lambda m: None, redis_url, block_ms=100)
    while redis_client.zcard(keys.delayed):
        consumer.run(burst=True)
    consumer.close()

    ingest_events(redis_url=redis_url, queues=[queue_name], consumer_name="m")
    alert = Alert.objects.get(kind=AlertKind.EVENTS_DROPPED)
    count = int(alert.details["count"])
    assert count >= events.DROP_BATCH
    assert alert.severity == "alert"
    assert alert.summary == (
        f"{count} library events of {queue_name} dropped before they were ingested "
        "(events stream at its bound)"
    )
    assert Alert.objects.filter(kind=AlertKind.DEAD_LETTERED).count() == events.CHECK_EVERY + 6
