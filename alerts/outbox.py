"""The notifications queue: enqueue delivery jobs, and read them in the notifier.

A thin adapter over the StreamWarden library so the rest of the alerts app does not care
whether the library's Producer / Consumer have landed yet.

TODO(library): once ``queues.Producer`` / ``queues.Consumer`` exist, ``enqueue`` publishes
with ``Producer.publish(job, delay=...)`` and the notifier runs a library ``Consumer``. Until
then the fallback below writes and reads the library's documented layout
(library-design.md: ``sw:{Q}:stream`` entries with payload/ctype/headers/published, delayed
tickets ``{"k":"msg","u":uuid,"f":fields}`` in ``sw:{Q}:delayed`` scored by due time in ms),
so jobs enqueued now are understood by the library later.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis

from alerts import conf

GROUP = "notifier"
#: Jobs held this long by a notifier that died are taken over by another one.
TAKEOVER_IDLE_MS = 60_000

_MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local moved = 0
for _, member in ipairs(due) do
  if redis.call('ZREM', KEYS[1], member) == 1 then
    local ticket = cjson.decode(member)
    if ticket['k'] == 'msg' then
      local fields = {}
      for k, v in pairs(ticket['f']) do
        table.insert(fields, k)
        table.insert(fields, v)
      end
      redis.call('XADD', KEYS[2], '*', unpack(fields))
      moved = moved + 1
    end
  end
end
return moved
"""

_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def _client(url: str) -> redis.Redis:
    with _lock:
        if url not in _clients:
            _clients[url] = redis.Redis.from_url(
                url, socket_connect_timeout=2.0, socket_timeout=10.0
            )
        return _clients[url]


def stream_key(queue: str) -> str:
    return f"sw:{{{queue}}}:stream"


def delayed_key(queue: str) -> str:
    return f"sw:{{{queue}}}:delayed"


def enqueue(job: dict[str, Any], *, delay: float | None = None) -> str:
    """Put a delivery job into the notifications queue, now or after ``delay`` seconds.

    Raises redis-py connection errors when the queue's Redis is down (the dispatcher keeps
    the notification and tries again next tick).
    """
    queue = conf.notifications_queue()
    client = _client(conf.notifications_redis_url())
    now_ms = int(time.time() * 1000)
    fields = {
        "payload": json.dumps(job, separators=(",", ":")),
        "ctype": "json",
        "headers": "{}",
        "published": str(now_ms),
    }
    if delay and delay > 0:
        ticket = json.dumps({"k": "msg", "u": uuid.uuid4().hex, "f": fields})
        client.zadd(delayed_key(queue), {ticket: now_ms + int(delay * 1000)})
        return ticket
    entry_id = client.xadd(stream_key(queue), fields)  # type: ignore[arg-type]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


@dataclass(frozen=True)
class Job:
    entry_id: str
    payload: dict[str, Any]


class OutboxReader:
    """Reads delivery jobs through the consumer group "notifier".

    Blocking: ``read`` waits at most ``block_ms``. Not thread-safe: one reader per thread.
    At-least-once: a job is acked only by ``ack``; jobs of a dead reader are taken over.
    """

    def __init__(self, *, name: str, redis_url: str | None = None, queue: str | None = None):
        self.name = name
        self.queue = queue or conf.notifications_queue()
        self.client = _client(redis_url or conf.notifications_redis_url())
        self.stream = stream_key(self.queue)
        self.delayed = delayed_key(self.queue)
        self._move_due = self.client.register_script(_MOVE_DUE)
        self._group_ready = False

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def move_due(self) -> int:
        """Move due delayed jobs into the stream (atomic: no loss, no double move)."""
        return int(
            self._move_due(keys=[self.delayed, self.stream], args=[int(time.time() * 1000), 100])
        )

    def read(self, *, count: int = 10, block_ms: int = 500) -> list[Job]:
        self._ensure_group()
        self.move_due()
        try:
            claimed: Any = self.client.xautoclaim(
                self.stream, GROUP, self.name, TAKEOVER_IDLE_MS, start_id="0-0", count=count
            )
            entries = list(claimed[1])
            if not entries:
                reply: Any = self.client.xreadgroup(
                    GROUP, self.name, {self.stream: ">"}, count=count, block=block_ms
                )
                entries = list(reply[0][1]) if reply else []
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._group_ready = False
            return []
        jobs = []
        for raw_id, fields in entries:
            entry_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            if not fields:
                self.ack(entry_id)  # deleted while pending
                continue
            try:
                payload = json.loads(fields[b"payload"])
            except (KeyError, ValueError):
                self.ack(entry_id)  # not a job of ours; never loop on it
                continue
            jobs.append(Job(entry_id=entry_id, payload=payload))
        return jobs

    def ack(self, entry_id: str) -> None:
        self.client.xack(self.stream, GROUP, entry_id)

    def pending(self) -> int:
        """Jobs waiting: in the stream unread or unacked, plus delayed retries."""
        self._ensure_group()
        groups: Any = self.client.xinfo_groups(self.stream)
        waiting = sum(int(g.get("pending", 0)) + int(g.get("lag") or 0) for g in groups)
        return waiting + int(self.client.zcard(self.delayed))
