"""After a message is handled: keeping its delivery fresh, notifying its producer, sweeping
orphaned reply streams, and deleting a consumer."""

from __future__ import annotations

from typing import Any

from queues import entries
from queues.keys import QueueKeys
from queues.steps import Call


def touch_call(keys: QueueKeys, group: str, consumer: str, ids: list[str]) -> Call:
    """touch.lua: reset the idle time of entries this consumer still owns."""
    return [keys.stream], [group, consumer, *ids]


REPLY_MAXLEN = 10_000


def notify_call(
    keys: QueueKeys, target: tuple[str, str], entry_id: str, status: str, error: str = ""
) -> Call:
    """notify.lua: tell a live producer how its message ended (done | dead)."""
    producer_id, token = target
    return [keys.reply(producer_id), keys.producer_alive(producer_id)], [
        token,
        entry_id,
        status,
        error,
        REPLY_MAXLEN,
    ]


def orphaned_replies(keys: QueueKeys, reply_keys: list[Any], alive: list[Any]) -> list[str]:
    """Reply streams whose producer's heartbeat key is gone (``alive``: EXISTS replies of
    ``keys.producer_alive(id)`` for each of ``reply_keys``, in order). Only keys with the
    queue's exact reply prefix: a pattern that matched another queue's keys deletes none."""
    prefix = keys.reply("")
    return [
        name
        for name, up in zip(map(entries.text, reply_keys), alive, strict=True)
        if not up and name.startswith(prefix)
    ]


def reply_producer(keys: QueueKeys, reply_key: Any) -> str:
    """The producer id a reply stream key belongs to."""
    return entries.text(reply_key)[len(keys.reply("")) :]


def delete_consumer_call(keys: QueueKeys, group: str, consumer: str) -> Call:
    """delete_consumer.lua: leave the group, but only when owning nothing."""
    return [keys.stream], [group, consumer, "0"]
