"""``events``: recent library events, newest last, then (``--follow``) new ones until ^C."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from queues import events as events_mod
from queues.cli.common import EXIT_OK, AddParser, Command, require_queue
from queues.connection import unavailable_as_error
from queues.keys import queue_keys
from queues.manager import Manager
from queues.types import Event


def add_parsers(add: AddParser) -> dict[str, Command]:
    p = add("events", help="recent library events, newest last")
    p.add_argument("--queue")
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--follow", action="store_true", help="then print new events until ^C")
    return {"events": events}


def events(args: argparse.Namespace, manager: Manager) -> int:
    if args.queue is not None:
        require_queue(manager, args.queue)
    found = manager.events(args.count, queue=args.queue) if args.count > 0 else []
    print_events(found, args.json)
    if args.follow:
        follow(manager, args, found)
    return EXIT_OK


def follow(manager: Manager, args: argparse.Namespace, seen: Sequence[Event]) -> None:
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
            print_events(found, args.json)


def print_events(found: Sequence[Event], as_json: bool) -> None:
    """One line per event: JSON, or time, queue, type and its fields."""
    for e in found:
        if as_json:
            print(json.dumps(event_dict(e)), flush=True)
            continue
        extra = " ".join(
            f"{k}={v}" for k, v in e.fields.items() if k not in ("type", "queue", "time")
        )
        print(
            f"{e.time.isoformat(timespec='milliseconds')}  {e.queue}  {e.type}  {extra}", flush=True
        )


def event_dict(e: Event) -> dict[str, Any]:
    return {"id": e.id, "type": e.type, "queue": e.queue, "time_ms": e.time_ms, **e.fields}
