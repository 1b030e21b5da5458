"""Commands that change queues and groups: ``create``, ``delete``, ``trim``, ``purge``,
``create-group``, ``delete-group``, ``set-id``, ``delete-consumer``."""

from __future__ import annotations

import argparse

from queues.cli.common import AddParser, Command, UsageError, emit, require_queue
from queues.exceptions import QueueNotFound, StreamWardenError
from queues.manager import Manager


def add_parsers(add: AddParser) -> dict[str, Command]:
    add("create", help="create (register) a queue").add_argument("queue")
    p = add("delete", help="delete a queue: stream, groups, delayed, dead letters")
    p.add_argument("queue")
    p.add_argument("--yes", action="store_true", help="confirm: this drops every message")
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
    return {
        "create": create,
        "delete": delete,
        "trim": trim,
        "purge": purge,
        "create-group": create_group,
        "delete-group": delete_group,
        "set-id": set_id,
        "delete-consumer": delete_consumer,
    }


def create(args: argparse.Namespace, manager: Manager) -> int:
    return emit(args, {"created": manager.create_queue(args.queue)})


def delete(args: argparse.Namespace, manager: Manager) -> int:
    if not args.yes:
        raise UsageError(f"deleting queue {args.queue!r} drops every message: add --yes")
    if not manager.delete_queue(args.queue):
        raise QueueNotFound(f"no queue {args.queue!r}")
    return emit(args, {"deleted": args.queue})


def trim(args: argparse.Namespace, manager: Manager) -> int:
    require_queue(manager, args.queue)
    return emit(args, {"removed": manager.trim(args.queue)})


def purge(args: argparse.Namespace, manager: Manager) -> int:
    require_queue(manager, args.queue)
    return emit(args, {"removed": manager.purge(args.queue, dead=args.dead)})


def create_group(args: argparse.Namespace, manager: Manager) -> int:
    manager.create_group(args.queue, args.group, start=args.start)
    return emit(args, {"created": args.group})


def delete_group(args: argparse.Namespace, manager: Manager) -> int:
    require_queue(manager, args.queue)
    if not manager.delete_group(args.queue, args.group):
        raise StreamWardenError(f"queue {args.queue!r} has no group {args.group!r}")
    return emit(args, {"deleted": args.group})


def set_id(args: argparse.Namespace, manager: Manager) -> int:
    require_queue(manager, args.queue)
    manager.set_group_id(args.queue, args.group, args.id)
    return emit(args, {"group": args.group, "last_delivered_id": args.id})


def delete_consumer(args: argparse.Namespace, manager: Manager) -> int:
    require_queue(manager, args.queue)
    owned = manager.delete_consumer(
        args.queue, args.group, args.consumer, force=args.force, hand_to=args.hand_to
    )
    return emit(
        args,
        {"handed_pending": owned, "to": args.hand_to}
        if args.hand_to
        else {"dropped_pending": owned},
    )
