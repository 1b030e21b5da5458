"""queues.Consumer and its parts (see consumer.py for the threads of a running consumer)."""

from queues.consumer.config import (
    ConsumerConfig,
    check_handler,
    check_on_group_lost,
    check_payload_cap,
    default_name,
    heartbeat_every,
)
from queues.consumer.consumer import Consumer, Handler
from queues.consumer.recovery import is_nogroup
from queues.consumer.stats import ConsumerStats

__all__ = [
    "Consumer",
    "ConsumerConfig",
    "ConsumerStats",
    "Handler",
    "check_handler",
    "check_on_group_lost",
    "check_payload_cap",
    "default_name",
    "heartbeat_every",
    "is_nogroup",
]
