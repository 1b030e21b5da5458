"""The library's own round-trip, claim, dead-letter, delayed and manager tests, run unchanged
against a 3-master Redis Cluster: ``redis_url`` is a ``redis+cluster://`` URL here and every
test that takes ``queue_name`` runs three times, once with the queue on each master.

Left out: tests whose child processes or helpers open ``redis.Redis`` on the URL themselves,
and the command-count test (INFO stats is per node); cluster versions of those follow.
"""

from __future__ import annotations

import pytest
from redis.cluster import RedisCluster

from queues import Consumer, Manager, Message, Producer
from queues.keys import queue_keys
from tests.queues.conftest import FAST, Recorder
from tests.queues.test_claims import (  # noqa: F401
    test_a_handler_stuck_longer_than_handler_timeout_loses_its_message,
    test_a_pending_entry_whose_data_was_deleted_is_dead_lettered_not_retried_forever,
    test_a_slow_handler_in_a_live_consumer_is_not_claimed,
    test_eight_consumers_racing_to_claim_five_thousand_idle_entries_process_each_once,
    test_entries_delivered_to_a_consumer_whose_read_reply_was_lost_are_recovered,
)
from tests.queues.test_delayed import (  # noqa: F401
    test_a_binary_payload_survives_the_delayed_set,
    test_a_broken_ticket_is_dead_lettered_and_does_not_block_the_others,
    test_a_delayed_message_is_delivered_after_its_delay,
    test_a_delayed_publish_with_a_dedup_key_is_scheduled_once,
    test_concurrent_movers_move_each_due_ticket_exactly_once,
)
from tests.queues.test_delivery import (  # noqa: F401
    test_two_groups_on_one_stream_each_process_all_messages,
)
from tests.queues.test_failures import (  # noqa: F401
    test_a_handler_calling_sys_exit_does_not_kill_the_consumer,
    test_a_handler_that_always_raises_is_retried_with_growing_delay_then_dead_lettered,
    test_a_replay_for_one_group_is_skipped_by_the_others,
    test_a_retry_waits_in_redis_not_in_the_process,
    test_an_undecodable_entry_is_dead_lettered_and_the_consumer_goes_on,
    test_dead_letters_can_be_deleted,
    test_replayed_dead_letters_are_processed,
)
from tests.queues.test_manager import (  # noqa: F401
    test_a_consumer_with_pending_entries_is_deleted_only_when_forced,
    test_events_are_read_through_a_group_at_least_once,
    test_events_of_all_queues_come_newest_last,
    test_groups_can_be_created_moved_and_deleted,
    test_health_reports_lag_and_missing_consumers,
    test_info_of_an_unknown_queue_raises_queue_not_found,
    test_info_reports_stream_groups_consumers_and_ages,
    test_pending_lists_entries_with_owner_idle_time_and_delivery_count,
    test_queues_can_be_created_listed_and_deleted,
)
from tests.queues.test_producer import (  # noqa: F401
    test_a_delayed_publish_waits_in_the_delayed_set,
    test_publish_adds_one_entry_with_payload_ctype_headers_and_time,
    test_publish_many_returns_ids_in_order,
    test_publish_registers_the_queue,
    test_same_dedup_key_publishes_once,
)
from tests.queues.test_replay import (  # noqa: F401
    test_a_dead_letter_of_a_priority_level_is_replayed_to_that_level,
    test_a_replay_to_a_group_that_no_longer_exists_is_refused_naming_it,
)
from tests.queues.test_resilience import (  # noqa: F401
    test_a_deleted_group_is_recreated_and_nothing_is_skipped_or_replayed,
)
from tests.queues.test_roundtrip import (  # noqa: F401
    test_a_consumer_removes_itself_from_the_group_on_a_clean_exit,
    test_a_group_created_by_a_consumer_sees_messages_published_before_it,
    test_a_running_consumer_handles_messages_as_they_arrive,
    test_burst_processes_what_is_there_and_returns,
)
from tests.queues.test_trim import (  # noqa: F401
    test_purge_empties_every_priority_level_and_forgets_dedup_keys,
    test_purge_empties_the_queue_but_keeps_its_groups,
    test_trim_risk_counts_exactly_what_a_blind_maxlen_would_drop,
    test_trimming_a_stream_without_groups_is_refused,
    test_trimming_to_maxlen_keeps_the_newest_and_everything_still_needed,
    test_trimming_while_a_group_lags_removes_no_undelivered_or_pending_entry,
)
from tests.queues.test_trimmed_entries import (  # noqa: F401
    test_a_parked_retry_trimmed_before_its_release_is_dead_lettered,
    test_ordered_takeover_dead_letters_a_trimmed_entry_and_reports_no_claim_of_it,
)
from tests.support.redis_cluster import RedisClusterFixture


def _one_queue_per_master(cluster: RedisClusterFixture, prefix: str) -> list[str]:
    names = [cluster.key_on(node, f"{prefix}{i}") for i, node in enumerate(cluster.nodes)]
    assert len({cluster.node_of(queue_keys(n).stream).node_id for n in names}) == 3
    return names


def test_the_registry_events_and_info_cover_queues_on_every_master(
    redis_url: str, redis_cluster: RedisClusterFixture, manager: Manager
) -> None:
    names = _one_queue_per_master(redis_cluster, "spread")
    for name in names:
        Producer(name, redis=redis_url).publish_many(["ok", "bad"])
        handler = Recorder()

        def handle(message, handler=handler):
            handler(message)
            if message.payload == "bad":
                raise RuntimeError("bad")

        Consumer(name, "g", handle, redis_url, max_deliveries=1, **FAST).run(burst=True)
    assert set(names) <= set(manager.queues())
    infos = manager.info_many(names)
    assert [(i.length, i.dead, i.group("g").pending) for i in infos] == [(2, 1, 0)] * 3
    dead = [(e.queue, e.type) for e in manager.events() if e.type == "dead_lettered"]
    assert sorted(dead) == sorted((n, "dead_lettered") for n in names)
    for name in names:
        assert manager.delete_queue(name)
    assert not set(names) & set(manager.queues())
    assert [i.exists for i in manager.info_many(names)] == [False] * 3


@pytest.mark.parametrize("url", ["redis+cluster://", "redis+cluster://127.0.0.1:1/3"])
def test_a_bad_cluster_url_names_the_expected_form(url: str) -> None:
    from queues import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"redis\+cluster://"):
        Producer("q", redis=url)


def test_ordered_mode_on_a_cluster_retries_in_order_and_releases_its_lock(
    redis_url: str,
    queue_name: str,
    producer: Producer,
    manager: Manager,
    redis_client: RedisCluster,
) -> None:
    """Ordered mode's lock and takeover scripts run on the queue's master (the lock key
    shares the queue's hash tag)."""
    seen: list[tuple[int, int]] = []

    def flaky(message: Message) -> None:
        seen.append((message.payload, message.deliveries))
        if message.payload == 2 and message.deliveries < 3:
            raise RuntimeError("not yet")

    producer.publish_many([1, 2, 3, 4])
    Consumer(queue_name, "g", flaky, redis_url, ordered=True, backoff_base=0.05, **FAST).run(
        burst=True
    )
    assert seen == [(1, 1), (2, 1), (2, 2), (2, 3), (3, 2), (4, 2)]
    assert manager.info(queue_name).group("g").pending == 0
    assert not redis_client.exists(queue_keys(queue_name).ordered_lock("g"))
