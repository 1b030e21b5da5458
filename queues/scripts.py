"""The Lua scripts of queues/lua/, read once and registered once per client.

Sources are shared: the sync drivers register them on a redis.Redis, an asyncio twin can
register the very same text on a redis.asyncio.Redis.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from queues import events

NAMES = (
    "claim",
    "dead_letter",
    "delete_consumer",
    "fingerprint",
    "guard",
    "move_due",
    "notify",
    "ordered_lock",
    "ordered_takeover",
    "publish",
    "purge",
    "replay",
    "retry",
    "schedule",
    "touch",
    "trim",
    "trim_risk",
)


def _read(name: str) -> str:
    return (resources.files("queues") / "lua" / f"{name}.lua").read_text(encoding="utf-8")


@functools.cache
def source(name: str) -> str:
    """Text of ``queues/lua/<name>.lua``, with the shared functions it calls in front:
    ``safe_trim`` (``_safe_trim.lua``) and ``add_event`` (``_events.lua``, with the bounds
    of queues.events), which trims events streams with ``safe_trim``."""
    if name not in NAMES:
        raise KeyError(f"no Lua script named {name!r}; known: {', '.join(NAMES)}")
    text = _read(name)
    if "add_event(" in text:
        bounds = (
            f"local EVENTS_HARD_MAX = {events.HARD_MAX_EVENTS}\n"
            f"local EVENTS_DROP_BATCH = {events.DROP_BATCH}\n"
            f"local EVENTS_CHECK_EVERY = {events.CHECK_EVERY}\n"
        )
        return bounds + _read("_safe_trim") + _read("_events") + text
    if "safe_trim(" in text:
        return _read("_safe_trim") + text
    return text


class Scripts:
    """Every library script registered on one client (register_script computes SHA1 locally;
    the server loads a script on first use and again after a restart flushed its cache)."""

    def __init__(self, client: Any) -> None:
        self.claim = client.register_script(source("claim"))
        self.dead_letter = client.register_script(source("dead_letter"))
        self.delete_consumer = client.register_script(source("delete_consumer"))
        self.guard = client.register_script(source("guard"))
        self.move_due = client.register_script(source("move_due"))
        self.notify = client.register_script(source("notify"))
        self.ordered_lock = client.register_script(source("ordered_lock"))
        self.ordered_takeover = client.register_script(source("ordered_takeover"))
        self.publish = client.register_script(source("publish"))
        self.purge = client.register_script(source("purge"))
        self.replay = client.register_script(source("replay"))
        self.retry = client.register_script(source("retry"))
        self.schedule = client.register_script(source("schedule"))
        self.touch = client.register_script(source("touch"))
        self.trim = client.register_script(source("trim"))
        self.trim_risk = client.register_script(source("trim_risk"))
