"""Command line for the Manager: ``python -m queues info orders``, ``... dlq orders --replay``.

Exit status: 0 success (health: ok), 1 health warn, 2 health alert, 3 error (Nagios-style,
so ``health`` can serve as a check command).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from queues.exceptions import StreamWardenError
from queues.health import Thresholds
from queues.manager import Manager
from queues.types import QueueInfo

DEFAULT_URL = "redis://127.0.0.1:6379/0"
EXIT_ERROR = 3
HEALTH_EXIT = {"ok": 0, "warn": 1, "alert": 2}


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _dump(value: Any) -> str:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif isinstance(value, list):
        value = [
            dataclasses.asdict(v) if dataclasses.is_dataclass(v) and not isinstance(v, type) else v
            for v in value
        ]
    return json.dumps(value, indent=2, default=_json_default)


def _age(ms: int | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f}s"


def _print_info(info: QueueInfo) -> None:
    print(
        f"queue {info.name}: length {info.length}, delayed {info.delayed}, dead {info.dead}, "
        f"oldest undelivered {_age(info.oldest_undelivered_ms)}"
    )
    for g in info.groups:
        print(
            f"  group {g.name}: lag {g.lag if g.lag is not None else '?'}, pending {g.pending} "
            f"(parked retries {g.parked}), oldest pending {_age(g.oldest_pending_ms)}, "
            f"consumers {len(g.consumers)} ({g.active_consumers} active), "
            f"last delivered {g.last_delivered_id}"
        )
        for c in g.consumers:
            state = "active" if c.active else "inactive"
            print(f"    consumer {c.name}: pending {c.pending}, idle {_age(c.idle_ms)} ({state})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m queues", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--redis",
        default=os.environ.get("REDIS_URL", DEFAULT_URL),
        help="Redis URL (default: $REDIS_URL or %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("queues", help="list known queues")
    sub.add_parser("info", help="queue, groups and consumers").add_argument("queue")
    p = sub.add_parser("pending", help="pending entries of a group")
    p.add_argument("queue")
    p.add_argument("group")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--consumer")
    p = sub.add_parser("dlq", help="list, replay or delete dead letters")
    p.add_argument("queue")
    p.add_argument("--count", type=int, default=100)
    action = p.add_mutually_exclusive_group()
    action.add_argument("--replay", action="store_true", help="publish them again")
    action.add_argument("--delete", action="store_true", help="delete them")
    p.add_argument("--ids", nargs="+", help="only these dead-letter ids (default: all)")
    p = sub.add_parser("events", help="recent library events, newest last")
    p.add_argument("--queue")
    p.add_argument("--count", type=int, default=50)
    p = sub.add_parser("health", help="ok/warn/alert with default or given thresholds")
    p.add_argument("queue")
    p.add_argument(
        "--thresholds", help='JSON, e.g. \'{"lag": [100, 1000], "active_consumers": [1, 0]}\''
    )
    sub.add_parser("trim", help="remove entries every group has acknowledged").add_argument("queue")
    p = sub.add_parser("purge", help="remove all entries (groups stay)")
    p.add_argument("queue")
    p.add_argument("--dead", action="store_true", help="dead letters too")
    p = sub.add_parser("create-group")
    p.add_argument("queue")
    p.add_argument("group")
    p.add_argument("--start", default="$", help='"$" new messages only (default), "0" all')
    p = sub.add_parser("delete-group")
    p.add_argument("queue")
    p.add_argument("group")
    p = sub.add_parser("set-id", help="move a group's last-delivered id")
    p.add_argument("queue")
    p.add_argument("group")
    p.add_argument("id")
    p = sub.add_parser("delete-consumer")
    p.add_argument("queue")
    p.add_argument("group")
    p.add_argument("consumer")
    p.add_argument("--force", action="store_true", help="even if it owns pending entries")
    return parser


def run(args: argparse.Namespace, manager: Manager) -> int:
    out: Any = None
    cmd = args.command
    if cmd == "queues":
        out = manager.queues()
        if not args.json:
            print("\n".join(out))
            return 0
    elif cmd == "info":
        out = manager.info(args.queue)
        if not args.json:
            _print_info(out)
            return 0
    elif cmd == "pending":
        out = manager.pending(args.queue, args.group, args.count, consumer=args.consumer)
        if not args.json:
            for e in out:
                print(f"{e.id}  {e.consumer}  idle {_age(e.idle_ms)}  deliveries {e.deliveries}")
            return 0
    elif cmd == "dlq":
        if args.replay:
            out = {"replayed": manager.replay_dead_letters(args.queue, args.ids)}
        elif args.delete:
            out = {"deleted": manager.delete_dead_letters(args.queue, args.ids)}
        else:
            out = manager.dead_letters(args.queue, args.count)
            if not args.json:
                for d in out:
                    print(
                        f"{d.id}  from {d.original_id} ({d.group}/{d.consumer}) "
                        f"{d.reason} after {d.deliveries}: {d.error}"
                    )
                return 0
    elif cmd == "events":
        out = manager.events(args.count, queue=args.queue)
        if not args.json:
            for e in out:
                extra = {k: v for k, v in e.fields.items() if k not in ("type", "queue", "time")}
                print(f"{e.time.isoformat()}  {e.queue}  {e.type}  {extra}")
            return 0
    elif cmd == "health":
        thresholds = (
            Thresholds.from_mapping(json.loads(args.thresholds)) if args.thresholds else None
        )
        health = manager.health(args.queue, thresholds)
        if args.json:
            print(_dump(health))
        else:
            print(f"{health.queue}: {health.status}")
            for c in health.checks:
                where = f" [{c.group}]" if c.group else ""
                print(
                    f"  {c.status:5}  {c.name}{where} = {c.value} (warn {c.warn}, alert {c.alert}) {c.detail}"
                )
        return HEALTH_EXIT[health.status]
    elif cmd == "trim":
        out = {"removed": manager.trim(args.queue)}
    elif cmd == "purge":
        out = {"removed": manager.purge(args.queue, dead=args.dead)}
    elif cmd == "create-group":
        manager.create_group(args.queue, args.group, start=args.start)
        out = {"created": args.group}
    elif cmd == "delete-group":
        out = {"deleted": manager.delete_group(args.queue, args.group)}
    elif cmd == "set-id":
        manager.set_group_id(args.queue, args.group, args.id)
        out = {"group": args.group, "last_delivered_id": args.id}
    elif cmd == "delete-consumer":
        out = {
            "dropped_pending": manager.delete_consumer(
                args.queue, args.group, args.consumer, force=args.force
            )
        }
    print(_dump(out))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        manager = Manager(redis=args.redis)
        try:
            return run(args, manager)
        finally:
            manager.close()
    except (StreamWardenError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
