"""Command line for the Manager: ``python -m queues info orders``, ``... dlq orders --replay``.

Human-readable tables by default, ``--json`` for scripts. Exit status:

- 0: done (``health``: the queue is ok);
- 1: the operation failed: unknown queue or group, Redis unavailable, refused (a consumer
  that still owns entries, a trim without groups); ``health``: warn or alert
  (``health --nagios`` exits 0 ok, 1 warn, 2 alert, 3 unknown instead);
- 2: the command line itself is wrong (unknown option, bad JSON, a missing ``--yes``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

import redis

from queues import events as events_mod
from queues.connection import unavailable_as_error
from queues.exceptions import ConfigurationError, QueueNotFound, StreamWardenError
from queues.health import Thresholds
from queues.keys import queue_keys
from queues.manager import Manager
from queues.types import Event, QueueInfo, StreamPage

DEFAULT_URL = "redis://127.0.0.1:6379/0"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
NAGIOS_EXIT = {"ok": 0, "warn": 1, "alert": 2}
#: Subcommands whose first argument must name an existing queue.
NEEDS_QUEUE = {
    "info",
    "groups",
    "pending",
    "dlq",
    "health",
    "trim",
    "purge",
    "delete-group",
    "set-id",
    "delete-consumer",
}


class UsageError(Exception):
    """The command line is wrong (exit 2)."""


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


def _known(value: int | None) -> str | int:
    """A figure only StreamWarden queues have; "n/a" for a plain stream (never a false 0)."""
    return "n/a" if value is None else value


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows as an aligned plain-text table (or a note when there are none)."""
    if not rows:
        print("(none)")
        return
    cells = [[str(h) for h in headers], *[["-" if v is None else str(v) for v in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if index == 0:
            print("  ".join("-" * width for width in widths))


def _print_info(info: QueueInfo) -> None:
    print(
        f"{'stream' if info.plain else 'queue'} {info.name}: length {info.length}, "
        f"delayed {_known(info.delayed)}, dead {_known(info.dead)}, "
        f"oldest undelivered {_age(info.oldest_undelivered_ms)}"
        + (f", priority levels 0,{','.join(map(str, info.levels))} (summed)" if info.levels else "")
    )
    print()
    _print_groups(info)
    for g in info.groups:
        if g.consumers:
            print()
            print(f"group {g.name}:")
            _table(
                ["consumer", "pending", "idle", "state"],
                [
                    (c.name, c.pending, _age(c.idle_ms), "active" if c.active else "inactive")
                    for c in g.consumers
                ],
            )


def _print_groups(info: QueueInfo) -> None:
    _table(
        [
            "group",
            "lag",
            "pending",
            "parked",
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
                _known(g.parked),
                _age(g.oldest_pending_ms),
                len(g.consumers),
                g.active_consumers,
                g.last_delivered_id,
            )
            for g in info.groups
        ],
    )


def _print_streams(page: StreamPage, as_json: bool) -> None:
    if as_json:
        rows = [{"key": s.name, "kind": s.kind, "queue": s.queue} for s in page.streams]
        print(json.dumps({"streams": rows, "cursor": page.cursor}, indent=2))
        return
    # repr() of a key: a name with newlines or control characters cannot break the table
    _table(
        ["key", "kind", "queue"],
        [
            (s.name if s.name.isprintable() else repr(s.name), s.kind, s.queue or "")
            for s in page.streams
        ],
    )
    if not page.done:
        print(f"more streams: --cursor {page.cursor}", file=sys.stderr)


def _print_events(found: Sequence[Event]) -> None:
    for e in found:
        extra = " ".join(
            f"{k}={v}" for k, v in e.fields.items() if k not in ("type", "queue", "time")
        )
        print(
            f"{e.time.isoformat(timespec='milliseconds')}  {e.queue}  {e.type}  {extra}", flush=True
        )


def _global_options(parser: argparse.ArgumentParser, redis_default: Any, json_default: Any) -> None:
    parser.add_argument(
        "--redis",
        default=redis_default,
        help=f"Redis URL (default: $REDIS_URL or {DEFAULT_URL})",
    )
    parser.add_argument(
        "--json", action="store_true", default=json_default, help="print JSON instead of text"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m queues", description=__doc__.splitlines()[0])
    _global_options(parser, os.environ.get("REDIS_URL", DEFAULT_URL), False)
    # People type global options after the subcommand too (`info orders --json`): every
    # subcommand accepts them again, with no default of its own (SUPPRESS), so a value given
    # there overrides the one before the subcommand and an absent one leaves it alone.
    after = argparse.ArgumentParser(add_help=False)
    _global_options(after, argparse.SUPPRESS, argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", required=True)

    def add(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return subparsers.add_parser(name, parents=[after], **kwargs)

    add("queues", help="list known queues")
    p = add("info", help="queue (or any stream: --stream KEY), groups and consumers")
    p.add_argument("queue", nargs="?")
    p.add_argument("--stream", metavar="KEY", help="read any stream key as a plain stream")
    p = add("streams", help="stream keys of the Redis: queues and plain streams")
    p.add_argument("--match", default="*", metavar="PATTERN", help="SCAN glob (default *)")
    p.add_argument("--count", type=int, default=1000, help="streams per page (about)")
    p.add_argument("--cursor", default="0", help="continue from the cursor a page printed")
    add("groups", help="the consumer groups of a queue").add_argument("queue")
    add("create", help="create (register) a queue").add_argument("queue")
    p = add("delete", help="delete a queue: stream, groups, delayed, dead letters")
    p.add_argument("queue")
    p.add_argument("--yes", action="store_true", help="confirm: this drops every message")
    p = add("pending", help="pending entries of a group")
    p.add_argument("queue")
    p.add_argument("group")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--consumer")
    p = add("dlq", help="list, replay or delete dead letters")
    p.add_argument("queue")
    p.add_argument("--count", type=int, default=100)
    action = p.add_mutually_exclusive_group()
    action.add_argument("--replay", action="store_true", help="publish them again")
    action.add_argument("--delete", action="store_true", help="delete them")
    p.add_argument("--ids", nargs="+", help="only these dead-letter ids (default: all)")
    p = add("events", help="recent library events, newest last")
    p.add_argument("--queue")
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--follow", action="store_true", help="then print new events until ^C")
    p = add("health", help="ok/warn/alert with default or given thresholds")
    p.add_argument("queue")
    p.add_argument(
        "--thresholds", help='JSON, e.g. \'{"lag": [100, 1000], "active_consumers": [1, 0]}\''
    )
    p.add_argument("--nagios", action="store_true", help="exit 0 ok, 1 warn, 2 alert, 3 unknown")
    add("trim", help="remove entries every group has acknowledged").add_argument("queue")
    p = add("purge", help="remove all entries (groups stay)")
    p.add_argument("queue")
    p.add_argument("--dead", action="store_true", help="dead letters too")
    p = add("create-group")
    p.add_argument("queue")
    p.add_argument("group")
    p.add_argument("--start", default="$", help='"$" new messages only (default), "0" all')
    p = add("delete-group")
    p.add_argument("queue")
    p.add_argument("group")
    p = add("set-id", help="move a group's last-delivered id")
    p.add_argument("queue")
    p.add_argument("group")
    p.add_argument("id")
    p = add("delete-consumer")
    p.add_argument("queue")
    p.add_argument("group")
    p.add_argument("consumer")
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--hand-to",
        metavar="CONSUMER",
        help="first give its pending entries to this consumer (none lost)",
    )
    how.add_argument(
        "--force", action="store_true", help="even if it owns pending entries (drops them)"
    )
    return parser


def run(args: argparse.Namespace, manager: Manager) -> int:
    cmd = args.command
    if cmd == "info":
        if (args.queue is None) == (args.stream is None):
            raise UsageError("info takes a queue name or --stream KEY (one of them)")
        if args.stream is not None:
            stream = manager.stream_info(args.stream)
            if args.json:
                print(_dump(stream))
            else:
                _print_info(stream)
            return EXIT_OK
    if cmd == "streams":
        if args.count < 1:
            raise UsageError("--count must be at least 1")
        page = manager.streams(args.match, args.count, cursor=args.cursor)
        _print_streams(page, args.json)
        return EXIT_OK
    if cmd in NEEDS_QUEUE and args.queue not in manager.queues():
        manager.info(args.queue)  # QueueNotFound unless its stream exists unregistered
    out: Any = None
    if cmd == "queues":
        out = manager.queues()
        if not args.json:
            print("\n".join(out) if out else "(none)")
            return EXIT_OK
    elif cmd in ("info", "groups"):
        out = manager.info(args.queue)
        if cmd == "groups":
            if args.json:
                out = list(out.groups)
            else:
                _print_groups(out)
                return EXIT_OK
        elif not args.json:
            _print_info(out)
            return EXIT_OK
    elif cmd == "create":
        out = {"created": manager.create_queue(args.queue)}
    elif cmd == "delete":
        if not args.yes:
            raise UsageError(f"deleting queue {args.queue!r} drops every message: add --yes")
        if not manager.delete_queue(args.queue):
            raise QueueNotFound(f"no queue {args.queue!r}")
        out = {"deleted": args.queue}
    elif cmd == "pending":
        out = manager.pending(args.queue, args.group, args.count, consumer=args.consumer)
        if not args.json:
            _table(
                ["id", "consumer", "idle", "deliveries"],
                [(e.id, e.consumer, _age(e.idle_ms), e.deliveries) for e in out],
            )
            return EXIT_OK
    elif cmd == "dlq":
        if args.replay:
            out = {"replayed": manager.replay_dead_letters(args.queue, args.ids)}
        elif args.delete:
            out = {"deleted": manager.delete_dead_letters(args.queue, args.ids)}
        else:
            out = manager.dead_letters(args.queue, args.count)
            if not args.json:
                _table(
                    ["id", "original id", "group", "consumer", "reason", "deliveries", "error"],
                    [
                        (
                            d.id,
                            d.original_id,
                            d.group,
                            d.consumer,
                            d.reason,
                            d.deliveries,
                            d.error[:60],
                        )
                        for d in out
                    ],
                )
                return EXIT_OK
    elif cmd == "events":
        if args.queue is not None and args.queue not in manager.queues():
            manager.info(args.queue)
        found = manager.events(args.count, queue=args.queue) if args.count > 0 else []
        if args.json:
            for e in found:
                print(json.dumps(_event_dict(e)), flush=True)
        else:
            _print_events(found)
        if args.follow:
            _follow(manager, args, found)
        return EXIT_OK
    elif cmd == "health":
        try:
            thresholds = (
                Thresholds.from_mapping(json.loads(args.thresholds)) if args.thresholds else None
            )
        except ValueError as exc:
            raise UsageError(f"bad --thresholds: {exc}") from exc
        health = manager.health(args.queue, thresholds)
        if args.json:
            print(_dump(health))
        else:
            print(f"{health.queue}: {health.status}")
            _table(
                ["status", "check", "group", "value", "warn", "alert", "detail"],
                [
                    (c.status, c.name, c.group, c.value, c.warn, c.alert, c.detail)
                    for c in health.checks
                ],
            )
        if args.nagios:
            return NAGIOS_EXIT[health.status]
        return EXIT_OK if health.status == "ok" else EXIT_FAILED
    elif cmd == "trim":
        out = {"removed": manager.trim(args.queue)}
    elif cmd == "purge":
        out = {"removed": manager.purge(args.queue, dead=args.dead)}
    elif cmd == "create-group":
        manager.create_group(args.queue, args.group, start=args.start)
        out = {"created": args.group}
    elif cmd == "delete-group":
        if not manager.delete_group(args.queue, args.group):
            raise StreamWardenError(f"queue {args.queue!r} has no group {args.group!r}")
        out = {"deleted": args.group}
    elif cmd == "set-id":
        manager.set_group_id(args.queue, args.group, args.id)
        out = {"group": args.group, "last_delivered_id": args.id}
    elif cmd == "delete-consumer":
        owned = manager.delete_consumer(
            args.queue, args.group, args.consumer, force=args.force, hand_to=args.hand_to
        )
        out = (
            {"handed_pending": owned, "to": args.hand_to}
            if args.hand_to
            else {"dropped_pending": owned}
        )
    if args.json:
        print(_dump(out))
    else:
        print("  ".join(f"{k}: {v}" for k, v in out.items()) if isinstance(out, dict) else out)
    return EXIT_OK


def _event_dict(e: Event) -> dict[str, Any]:
    return {"id": e.id, "type": e.type, "queue": e.queue, "time_ms": e.time_ms, **e.fields}


def _follow(manager: Manager, args: argparse.Namespace, seen: Sequence[Event]) -> None:
    """Print events as they are written (XREAD BLOCK on the events streams) until ^C."""
    names = [args.queue] if args.queue else manager.queues()
    last = {queue_keys(n).events: "$" for n in names}
    for e in seen:  # continue right after what was printed
        last[queue_keys(e.queue).events] = e.id
    print(
        f"following events of {', '.join(names) or 'no queues'} (^C stops)",
        file=sys.stderr,
        flush=True,
    )
    while True:
        with unavailable_as_error(manager.address):
            reply: list[Any] = manager.client.xread(last, block=1000)  # type: ignore[arg-type,assignment]
        for stream, rows in reply or []:
            key = stream.decode() if isinstance(stream, bytes) else stream
            found = [events_mod.parse(i, f) for i, f in rows]
            if found:
                last[key] = found[-1].id
            if args.json:
                for e in found:
                    print(json.dumps(_event_dict(e)), flush=True)
            else:
                _print_events(found)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on a bad command line
    # SIGTERM ends `events --follow` as quietly as ^C does. SIGINT is set too: a process
    # started in the background by a non-interactive shell inherits SIGINT ignored, and
    # Python then never installs its ^C handler, so `kill -INT` would not stop --follow.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        manager = Manager(redis=args.redis)
        try:
            return run(args, manager)
        finally:
            manager.close()
    except KeyboardInterrupt:
        return EXIT_OK
    except (UsageError, ConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StreamWardenError, ValueError, redis.RedisError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
