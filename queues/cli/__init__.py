"""Command line for the Manager: ``python -m queues info orders``, ``... dlq orders --replay``.

Human-readable tables by default, ``--json`` for scripts. Exit status:

- 0: done (``health``: the queue is ok);
- 1: the operation failed: unknown queue or group, Redis unavailable, refused (a consumer
  that still owns entries, a trim without groups); ``health``: warn or alert
  (``health --nagios`` exits 0 ok, 1 warn, 2 alert, 3 unknown instead);
- 2: the command line itself is wrong (unknown option, bad JSON, a missing ``--yes``).

One module per command family: ``reads`` (queues, info, streams, groups, pending, health),
``admin`` (create, delete, trim, purge and the group and consumer commands),
``dead_letters`` (dlq), ``events``; ``common`` and ``output`` are what they share.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

import redis

from queues.cli import admin, dead_letters, events, reads
from queues.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Command, UsageError
from queues.exceptions import ConfigurationError, StreamWardenError
from queues.manager import Manager

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "main", "run"]

DEFAULT_URL = "redis://127.0.0.1:6379/0"
#: Each family's subcommands, in the order --help lists them.
FAMILIES = (reads, admin, dead_letters, events)


def _global_options(parser: argparse.ArgumentParser, redis_default: Any, json_default: Any) -> None:
    parser.add_argument(
        "--redis",
        default=redis_default,
        help=f"Redis URL (default: $REDIS_URL or {DEFAULT_URL})",
    )
    parser.add_argument(
        "--json", action="store_true", default=json_default, help="print JSON instead of text"
    )


def _parser_and_commands() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
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

    commands: dict[str, Command] = {}
    for family in FAMILIES:
        commands.update(family.add_parsers(add))
    return parser, commands


def build_parser() -> argparse.ArgumentParser:
    return _parser_and_commands()[0]


def run(args: argparse.Namespace, manager: Manager) -> int:
    """Run the parsed command; its exit status."""
    return _parser_and_commands()[1][args.command](args, manager)


def main(argv: Sequence[str] | None = None) -> int:
    parser, commands = _parser_and_commands()
    args = parser.parse_args(argv)  # exits 2 on a bad command line
    # SIGTERM ends `events --follow` as quietly as ^C does. SIGINT is set too: a process
    # started in the background by a non-interactive shell inherits SIGINT ignored, and
    # Python then never installs its ^C handler, so `kill -INT` would not stop --follow.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        manager = Manager(redis=args.redis)
        try:
            return commands[args.command](args, manager)
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
