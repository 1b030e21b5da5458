"""``dlq``: list, replay or delete a queue's dead letters."""

from __future__ import annotations

import argparse

from queues.cli.common import EXIT_OK, AddParser, Command, emit, require_queue
from queues.cli.output import table
from queues.manager import Manager


def add_parsers(add: AddParser) -> dict[str, Command]:
    p = add("dlq", help="list, replay or delete dead letters")
    p.add_argument("queue")
    p.add_argument("--count", type=int, default=100)
    action = p.add_mutually_exclusive_group()
    action.add_argument("--replay", action="store_true", help="publish them again")
    action.add_argument("--delete", action="store_true", help="delete them")
    p.add_argument("--ids", nargs="+", help="only these dead-letter ids (default: all)")
    return {"dlq": dlq}


def dlq(args: argparse.Namespace, manager: Manager) -> int:
    require_queue(manager, args.queue)
    if args.replay:
        return emit(args, {"replayed": manager.replay_dead_letters(args.queue, args.ids)})
    if args.delete:
        return emit(args, {"deleted": manager.delete_dead_letters(args.queue, args.ids)})
    out = manager.dead_letters(args.queue, args.count)
    if args.json:
        return emit(args, out)
    table(
        ["id", "original id", "group", "consumer", "reason", "deliveries", "error"],
        [
            (d.id, d.original_id, d.group, d.consumer, d.reason, d.deliveries, d.error[:60])
            for d in out
        ],
    )
    return EXIT_OK
