"""StreamWarden: reliable queues on Redis Streams (at-least-once, claims, retries, DLQ).

``import queues`` needs only redis-py; the Django glue beside it is loaded by Django only.
"""

from queues.consumer import Consumer, ConsumerStats
from queues.exceptions import (
    AlreadyProcessed,
    BufferFull,
    ConfigurationError,
    ConsumerBusy,
    GroupExists,
    GroupLost,
    GroupNotFound,
    NotAStream,
    NotDurable,
    OrderedConsumerActive,
    QueueNotFound,
    QueueUnavailable,
    ReplayRefused,
    SerializationError,
    StreamNotFound,
    StreamWardenError,
    TrimRefused,
    UndecodableEntry,
    UnflushedMessages,
)
from queues.health import Threshold, Thresholds
from queues.manager import Manager
from queues.producer import Producer
from queues.serializers import JSONSerializer, Serializer
from queues.trim import GroupTrimRisk, TrimRisk
from queues.types import (
    Check,
    Completion,
    ConsumerInfo,
    DeadLetter,
    Event,
    GroupInfo,
    Health,
    Message,
    PendingEntry,
    PlainStream,
    QueueInfo,
    StreamEntry,
    StreamPage,
    StreamRef,
)

__all__ = [
    "AlreadyProcessed",
    "Check",
    "Completion",
    "ConfigurationError",
    "Consumer",
    "BufferFull",
    "ConsumerBusy",
    "OrderedConsumerActive",
    "GroupLost",
    "ConsumerInfo",
    "ConsumerStats",
    "DeadLetter",
    "Event",
    "GroupExists",
    "GroupInfo",
    "GroupTrimRisk",
    "GroupNotFound",
    "Health",
    "JSONSerializer",
    "Manager",
    "Message",
    "NotAStream",
    "NotDurable",
    "PendingEntry",
    "PlainStream",
    "Producer",
    "QueueInfo",
    "QueueNotFound",
    "QueueUnavailable",
    "ReplayRefused",
    "SerializationError",
    "Serializer",
    "StreamNotFound",
    "StreamEntry",
    "StreamPage",
    "StreamRef",
    "StreamWardenError",
    "Thresholds",
    "Threshold",
    "TrimRefused",
    "TrimRisk",
    "UndecodableEntry",
    "UnflushedMessages",
]
