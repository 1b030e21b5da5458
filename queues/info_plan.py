"""The info read as a plan: which pipelines to send, in order, and how to build the
QueueInfo values from their replies, without I/O.

``info_plan`` is a generator: each ``yield`` hands the driver a function that fills a
pipeline, and receives that pipeline's replies (``raise_on_error=False``). The sync
Manager drives it with ``run`` and the asyncio Manager with ``arun``: one plan, two ways
of waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

from queues import info as info_mod
from queues.types import QueueInfo

Step = Callable[[Any], None]
Plan = Generator[Step, list[Any], list[QueueInfo]]


def info_plan(
    all_keys: Sequence[info_mod.Target], active_idle_ms: int, server_time: Any = None
) -> Plan:
    """Snapshots of ``all_keys`` in two pipelines (three when some have priority levels).

    ``server_time`` is Redis's TIME reply when the driver asked for it apart (a cluster
    pipeline cannot carry TIME: no key routes it); else TIME rides in the first pipeline."""
    with_time = server_time is None

    def first(pipe: Any) -> None:
        if with_time:
            pipe.time()
        for keys in all_keys:
            info_mod.phase_one(pipe, keys)

    replies = yield first
    if with_time:
        server_time, replies = replies[0], replies[1:]
    if isinstance(server_time, Exception):
        raise server_time
    now_ms = info_mod.time_ms(server_time)
    parts = info_mod.read_phase_ones(all_keys, replies)
    # phase one of the priority levels rides with phase two of the main streams
    levels = [info_mod.level_keys(part) for part in parts]
    all_level_keys = [keys for per_queue in levels for keys in per_queue]
    main_count = 0

    def second(pipe: Any) -> None:
        nonlocal main_count
        for part in parts:
            info_mod.phase_two(pipe, part)
        main_count = len(pipe)
        for keys in all_level_keys:
            info_mod.phase_one(pipe, keys)

    replies = yield second
    group_replies = replies[:main_count]
    level_parts = info_mod.read_phase_ones(all_level_keys, replies[main_count:])
    level_group_replies: list[Any] = []
    if level_parts:

        def third(pipe: Any) -> None:
            for part in level_parts:
                info_mod.phase_two(pipe, part)

        level_group_replies = yield third
    out = info_mod.build_many(parts, group_replies, now_ms, active_idle_ms)
    level_infos = iter(
        info_mod.build_many(level_parts, level_group_replies, now_ms, active_idle_ms)
    )
    return [
        info_mod.merge_levels(main, [next(level_infos) for _ in per_queue])
        for main, per_queue in zip(out, levels, strict=True)
    ]


def run(client: Any, plan: Plan) -> list[QueueInfo]:
    """Drive ``plan`` on a sync client: one pipelined round trip per step (none for an
    empty pipeline)."""
    try:
        step = next(plan)
        while True:
            pipe = client.pipeline(transaction=False)
            step(pipe)
            step = plan.send(pipe.execute(raise_on_error=False) if len(pipe) else [])
    except StopIteration as done:
        return done.value


async def arun(client: Any, plan: Plan) -> list[QueueInfo]:
    """Drive ``plan`` on an asyncio client (``run``, awaited)."""
    try:
        step = next(plan)
        while True:
            pipe = client.pipeline(transaction=False)
            step(pipe)
            step = plan.send(await pipe.execute(raise_on_error=False) if len(pipe) else [])
    except StopIteration as done:
        return done.value
