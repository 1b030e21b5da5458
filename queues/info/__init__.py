"""Decode XINFO / XPENDING replies into QueueInfo, GroupInfo and PendingEntry.

info() needs two pipelined round trips per batch of queues: first the stream, its groups,
dead-letter and delayed sizes; then per group the XPENDING summary, XINFO CONSUMERS and
the first undelivered entry. The command lists and the decoding live here so that a sync
and an asyncio driver run the same plan (queues.info_plan): ``phase_one``, ``phase_two``,
``build``, ``levels`` (priority levels merged), ``replies`` (single replies decoded).
"""

from queues.info.build import build, build_many
from queues.info.levels import merge_levels
from queues.info.phase_one import (
    PHASE_ONE_REPLIES,
    PLAIN_PHASE_ONE_REPLIES,
    PlainKeys,
    StreamPart,
    Target,
    group_names,
    level_keys,
    phase_one,
    plain_keys,
    raw_groups,
    read_duplicates,
    read_phase_one,
    read_phase_ones,
    replies_of,
)
from queues.info.phase_two import GroupPlan, phase_two, plan_two
from queues.info.replies import (
    DECODE_ERRORS,
    DEFAULT_ACTIVE_IDLE_MS,
    MAX_REASON,
    age_ms,
    id_ms,
    int_or_none,
    no_such_key,
    pending_entries,
    reason,
    stream_entry,
    time_ms,
)

__all__ = [
    "DECODE_ERRORS",
    "DEFAULT_ACTIVE_IDLE_MS",
    "GroupPlan",
    "MAX_REASON",
    "PHASE_ONE_REPLIES",
    "PLAIN_PHASE_ONE_REPLIES",
    "PlainKeys",
    "StreamPart",
    "Target",
    "age_ms",
    "build",
    "build_many",
    "group_names",
    "id_ms",
    "int_or_none",
    "level_keys",
    "merge_levels",
    "no_such_key",
    "pending_entries",
    "phase_one",
    "phase_two",
    "plain_keys",
    "plan_two",
    "raw_groups",
    "read_duplicates",
    "read_phase_one",
    "read_phase_ones",
    "reason",
    "replies_of",
    "stream_entry",
    "time_ms",
]
