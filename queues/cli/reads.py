"""Read-only commands: ``queues``, ``info``, ``streams``, ``groups``, ``pending``, ``health``."""

from __future__ import annotations

import argparse
import json
import sys

from queues.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    AddParser,
    Command,
    UsageError,
    emit,
    require_queue,
)
from queues.cli.output import age, dump, known, table
from queues.health import Thresholds
from queues.manager import Manager
from queues.types import QueueInfo, StreamPage

NAGIOS_EXIT = {"ok": 0, "warn": 1, "alert": 2}


def add_parsers(add: AddParser) -> dict[str, Command]:
    add("queues", help="list known queues")
    p = add("info", help="queue (or any stream: --stream KEY), groups and consumers")
    p.add_argument("queue", nargs="?")
    p.add_argument("--stream", metavar="KEY", help="read any stream key as a plain stream")
    p = add("streams", help="stream keys of the Redis: queues and plain streams")
    p.add_argument("--match", default="*", metavar="PATTERN", help="SCAN glob (default *)")
    p.add_argument("--count", type=int, default=1000, help="streams per page (about)")
    p.add_argument("--cursor", default="0", help="continue from the cursor a page printed")
    add("groups", help="the consumer groups of a queue").add_argument("queue")
    p = add("pending", help="pending entries of a group")
    p.add_argument("queue")
    p.add_argument("group")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--consumer")
    p = add("health", help="ok/warn/alert with default or given thresholds")
    p.add_argument("queue")
    p.add_argument(
        "--thresholds", help='JSON, e.g. \'{"lag": [100, 1000], "active_consumers": [1, 0]}\''
    )
    p.add_argument("--nagios", action="store_true", help="exit 0 ok, 1 warn, 2 alert, 3 unknown")
    return {
        "queues": queues,
        "info": info,
        "streams": streams,
        "groups": groups,
        "pending": pending,
        "health": health,
    }


def queues(args: argparse.Namespace, manager: Manager) -> int:
    out = manager.queues()
    if args.json:
        return emit(args, out)
    print("\n".join(out) if out else "(none)")
    return EXIT_OK


def info(args: argparse.Namespace, manager: Manager) -> int:
    if (args.queue is None) == (args.stream is None):
        raise UsageError("info takes a queue name or --stream KEY (one of them)")
    if args.stream is not None:
        found = manager.stream_info(args.stream)
    else:
        require_queue(manager, args.queue)
        found = manager.info(args.queue)
    if args.json:
        print(dump(found))
    else:
        print_info(found)
    return EXIT_OK


def streams(args: argparse.Namespace, manager: Manager) -> int:
    if args.count < 1:
        raise UsageError("--count must be at least 1")
    page = manager.streams(args.match, args.count, cursor=args.cursor)
    print_streams(page, args.json)
    return EXIT_OK


def groups(args: argparse.Namespace, manager: Manager) -> int:
    require_queue(manager, args.queue)
    found = manager.info(args.queue)
    if args.json:
        return emit(args, list(found.groups))
    print_groups(found)
    return EXIT_OK


def pending(args: argparse.Namespace, manager: Manager) -> int:
    require_queue(manager, args.queue)
    out = manager.pending(args.queue, args.group, args.count, consumer=args.consumer)
    if args.json:
        return emit(args, out)
    table(
        ["id", "consumer", "idle", "deliveries"],
        [(e.id, e.consumer, age(e.idle_ms), e.deliveries) for e in out],
    )
    return EXIT_OK


def health(args: argparse.Namespace, manager: Manager) -> int:
    require_queue(manager, args.queue)
    try:
        thresholds = (
            Thresholds.from_mapping(json.loads(args.thresholds)) if args.thresholds else None
        )
    except ValueError as exc:
        raise UsageError(f"bad --thresholds: {exc}") from exc
    found = manager.health(args.queue, thresholds)
    if args.json:
        print(dump(found))
    else:
        print(f"{found.queue}: {found.status}")
        table(
            ["status", "check", "group", "value", "warn", "alert", "detail"],
            [(c.status, c.name, c.group, c.value, c.warn, c.alert, c.detail) for c in found.checks],
        )
    if args.nagios:
        return NAGIOS_EXIT[found.status]
    return EXIT_OK if found.status == "ok" else EXIT_FAILED


def print_info(info: QueueInfo) -> None:
    print(
        f"{'stream' if info.plain else 'queue'} {info.name}: length {info.length}, "
        f"delayed {known(info.delayed)}, dead {known(info.dead)}, "
        f"oldest undelivered {age(info.oldest_undelivered_ms)}"
        + (f", priority levels 0,{','.join(map(str, info.levels))} (summed)" if info.levels else "")
    )
    print()
    print_groups(info)
    for g in info.groups:
        if g.consumers:
            print()
            print(f"group {g.name}:")
            table(
                ["consumer", "pending", "idle", "state"],
                [
                    (c.name, c.pending, age(c.idle_ms), "active" if c.active else "inactive")
                    for c in g.consumers
                ],
            )


def print_groups(info: QueueInfo) -> None:
    table(
        [
            "group",
            "lag",
            "pending",
            "parked",
            "duplicates",
            "oldest pending",
            "consumers",
            "active",
            "last delivered",
        ],
        [
            (
                g.name,
                g.lag if g.lag is not None else "?",
                g.pending,
                known(g.parked),
                known(g.duplicates),
                age(g.oldest_pending_ms),
                len(g.consumers),
                g.active_consumers,
                g.last_delivered_id,
            )
            for g in info.groups
        ],
    )


def print_streams(page: StreamPage, as_json: bool) -> None:
    if as_json:
        rows = [{"key": s.name, "kind": s.kind, "queue": s.queue} for s in page.streams]
        print(json.dumps({"streams": rows, "cursor": page.cursor}, indent=2))
        return
    # repr() of a key: a name with newlines or control characters cannot break the table
    table(
        ["key", "kind", "queue"],
        [
            (s.name if s.name.isprintable() else repr(s.name), s.kind, s.queue or "")
            for s in page.streams
        ],
    )
    if not page.done:
        print(f"more streams: --cursor {page.cursor}", file=sys.stderr)
