"""A parked retry waits for its own ticket, whatever backoff_max the scanning consumer has;
only a retry whose ticket is lost is taken without it."""

from __future__ import annotations

import redis

from queues import Consumer, Manager, Message, Producer
from queues.keys import RETRY_CONSUMER, queue_keys
from tests.queues.conftest import FAST, Recorder


def test_a_consumer_with_a_small_backoff_max_leaves_a_long_parked_retry_alone(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: redis.Redis,
) -> None:
    keys = queue_keys(queue_name)

    def fails(message: Message) -> None:
        raise RuntimeError("later")

    entry_id = producer.publish("x")
    # a consumer of the group with long backoffs parks it for 200 s
    patient = Consumer(queue_name, "g", fails, redis_url, backoff_base=200, backoff_max=600, **FAST)
    patient.run(burst=True)
    patient.close()
    [parked] = manager.pending(queue_name, "g")
    assert parked.consumer == RETRY_CONSUMER
    # ...and it has been waiting for 70 s of its 200 (JUSTID: the delivery count stays)
    redis_client.xclaim(keys.stream, "g", RETRY_CONSUMER, 0, [entry_id], idle=70_000, justid=True)

    # another consumer of the group retries after at most 1 s itself
    hasty = Recorder()
    Consumer(queue_name, "g", hasty, redis_url, backoff_max=1.0, claim_idle=0.5, **FAST).run(
        burst=True
    )
    assert hasty.count == 0, "released 130 s before its ticket is due"
    [still] = manager.pending(queue_name, "g")
    assert still.consumer == RETRY_CONSUMER

    # the ticket lost (an operator deleted the delayed set): taken after claim_idle
    redis_client.delete(keys.delayed)
    Consumer(queue_name, "g", hasty, redis_url, backoff_max=1.0, claim_idle=0.5, **FAST).run(
        burst=True
    )
    assert [m.id for m in hasty.messages] == [entry_id]
    assert manager.pending(queue_name, "g") == []
