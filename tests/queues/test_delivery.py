"""At-least-once delivery at volume: every message handled, acknowledged, nothing left."""

from __future__ import annotations

import pytest
import redis

from queues import Consumer, Manager, Producer
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Recorder, Runner, group_state, wait_for


def test_ten_thousand_messages_through_four_consumers_are_each_processed_and_acked(
    redis_url: str, queue_name: str, producer: Producer, manager: Manager, runner: Runner
) -> None:
    recorder = Recorder()
    for i in range(4):
        runner.start(
            Consumer(
                queue_name, "workers", recorder, redis_url, name=f"c{i}", batch_size=50, **FAST
            )
        )
    ids = producer.publish_many([{"n": i} for i in range(10_000)])

    wait_for(lambda: recorder.count >= 10_000, 60, message="10 000 messages handled")
    wait_for(
        lambda: manager.info(queue_name).group("workers").pending == 0, 10, message="all acked"
    )
    seen = recorder.ids()
    assert set(seen) == set(ids)
    assert max(seen.values()) == 1, "no message was handled twice"
    group = manager.info(queue_name).group("workers")
    assert (group.pending, group.lag) == (0, 0)
    assert group.active_consumers == 4
    handled_by = {m.deliveries for m in recorder.messages}
    assert handled_by == {1}


@pytest.mark.runs_on("single", "cluster")
def test_two_groups_on_one_stream_each_process_all_messages(
    redis_url: str, queue_name: str, producer: Producer, redis_client: redis.Redis
) -> None:
    ids = producer.publish_many([{"n": i} for i in range(1_000)])
    billing, shipping = Recorder(), Recorder()
    Consumer(queue_name, "billing", billing, redis_url, batch_size=100, **FAST).run(burst=True)
    Consumer(queue_name, "shipping", shipping, redis_url, batch_size=100, **FAST).run(burst=True)
    assert sorted(billing.ids()) == sorted(shipping.ids()) == sorted(ids)
    stream = queue_keys(queue_name).stream
    for group in ("billing", "shipping"):
        state = group_state(redis_client, stream, group)
        assert (state["pending"], state["lag"], state["entries-read"]) == (0, 0, 1_000)
