"""Joining the group at start-up, and again when it vanished under a running consumer.

Start-up creates the group (and the stream) unless they exist, writes a group-created event
when it did, registers the queue (and the priority level), deletes reply streams of dead
producers and, once, warns about a memory policy that may evict the queue's streams.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis

from queues import commands
from queues.commands import Delivery
from queues.consumer.config import ConsumerConfig
from queues.entries import text
from queues.exceptions import GroupLost
from queues.health import evicts_keys
from queues.keys import REGISTRY, QueueKeys

log = logging.getLogger(__name__)


class Membership:
    """One engine's place in its group: joined or not, and the newest id it read."""

    def __init__(self, config: ConsumerConfig, client: Any, keys: QueueKeys, address: str) -> None:
        self.config = config
        self.client = client
        self.keys = keys
        self.address = address
        self.name = config.consumer_name
        #: joined (start-up done); False sends the loop back to start-up
        self.ready = False
        self._group_seen = False
        #: the newest id read from the stream (">"): where a lost group is re-created
        self.last_read: str | None = None
        #: maxmemory-policy of the server, read at start-up (None if CONFIG is disabled).
        self.eviction_policy: str | None = None

    def read(self, rows: list[Delivery]) -> None:
        """``rows`` were read from the stream (">")."""
        self.last_read = commands.newest_read(self.last_read, rows)

    def start_up(self) -> None:
        config, keys = self.config, self.keys
        start = config.start_id
        if self._group_seen:
            # the group vanished under this consumer (XGROUP DESTROY, or a restart that lost
            # the data): stop, or re-create it where nothing acknowledged is replayed
            if config.on_group_lost == "stop" and not self._group_exists():
                raise GroupLost(config.queue, config.group)
            start = commands.recreate_start(
                last_read=self.last_read,
                start_id=config.start_id,
                stream_exists=bool(self.client.exists(keys.stream)),
            )
        try:
            created = self.client.xgroup_create(keys.stream, config.group, id=start, mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            created = False
        if created:
            self.client.xadd(
                keys.events,
                commands.group_created_fields(  # type: ignore[arg-type]
                    config.queue,
                    recreated=self._group_seen,
                    group=config.group,
                    consumer=self.name,
                    start=start,
                    now_ms=int(time.time() * 1000),
                ),
                # no MAXLEN: a blind cap would drop events the dashboard has not read;
                # the next event a script writes trims the stream safely (_events.lua)
            )
        self._group_seen = True
        self.client.sadd(REGISTRY, config.queue)
        if keys.level:
            self.client.sadd(keys.levels, keys.level)
        self._sweep_replies()
        if self.eviction_policy is None:
            self._check_eviction()
        self.ready = True

    def _group_exists(self) -> bool:
        try:
            rows = self.client.xinfo_groups(self.keys.stream)
        except redis.ResponseError:
            return False  # no stream: no group either
        return commands.has_group(rows, self.config.group)

    def _check_eviction(self) -> None:
        try:
            reply = self.client.config_get("maxmemory-policy")
        except redis.ResponseError:
            return  # CONFIG is disabled on many managed services; nothing to check
        self.eviction_policy = text(reply.get("maxmemory-policy")) or None
        if evicts_keys(self.eviction_policy):
            log.warning(
                "Redis at %s has maxmemory-policy %s: under memory pressure it may evict the "
                "streams of queue %r and lose messages; use noeviction (or volatile-*)",
                self.address,
                self.eviction_policy,
                self.config.queue,
            )

    def _sweep_replies(self) -> None:
        """Delete reply streams of producers that died (their heartbeat key expired)."""
        found = list(self.client.scan_iter(match=self.keys.reply_pattern, count=1000))
        if not found:
            return
        pipe = self.client.pipeline(transaction=False)
        for key in found:
            pipe.exists(self.keys.producer_alive(commands.reply_producer(self.keys, key)))
        orphans = commands.orphaned_replies(self.keys, found, pipe.execute())
        for key in orphans:
            self.client.delete(key)
        if orphans:
            log.info("consumer %s: deleted %d orphaned reply streams", self.name, len(orphans))
