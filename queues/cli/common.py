"""What every command of the command line shares: exit statuses, the usage error, the
check that a queue exists, and printing a command's result as text or JSON."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from queues.cli.output import dump
from queues.manager import Manager

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: A command: runs on the parsed arguments with a Manager; returns the exit status.
Command = Callable[[argparse.Namespace, Manager], int]
#: Adds one subcommand's parser (with the global options repeated after it).
AddParser = Callable[..., argparse.ArgumentParser]


class UsageError(Exception):
    """The command line is wrong (exit 2)."""


def require_queue(manager: Manager, name: str) -> None:
    """QueueNotFound unless ``name`` is a registered queue or its stream exists."""
    if name not in manager.queues():
        manager.info(name)


def emit(args: argparse.Namespace, out: Any) -> int:
    """Print a command's result (a dict as ``key: value`` pairs, or JSON with --json)."""
    if args.json:
        print(dump(out))
    else:
        print("  ".join(f"{k}: {v}" for k, v in out.items()) if isinstance(out, dict) else out)
    return EXIT_OK
