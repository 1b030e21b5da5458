"""The sync twins generated from their asyncio source by unasync.

Where a part of ``queues.aio`` is the sync code plus ``await``, the asyncio file is the source
and the sync file is made from it: unasync drops ``async``/``await`` (and renames
``AsyncIterator`` and the like), a few literal replacements below swap the asyncio client's
type for the sync one, and ruff sorts and formats the result.

    python -m tests.support.unasync_twins          # rewrite the sync files
    python -m tests.support.unasync_twins --check  # exit 1 when one is not current

``tests/queues/test_unasync_twins.py`` runs the check in the default suite.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import unasync

ROOT = Path(__file__).resolve().parents[2]

#: asyncio source → generated sync file (paths from the repository root).
TWINS = {
    "queues/aio/admin/pending.py": "queues/admin/pending.py",
    "queues/aio/admin/dead_letters.py": "queues/admin/dead_letters.py",
    "queues/aio/admin/event_feed.py": "queues/admin/event_feed.py",
    "queues/aio/admin/inspection.py": "queues/admin/inspection.py",
    "queues/aio/admin/operations.py": "queues/admin/operations.py",
    "queues/aio/publishing/publish.py": "queues/publishing/publish.py",
    "queues/aio/publishing/writes.py": "queues/publishing/writes.py",
}

#: Token renames beyond unasync's own (AsyncIterator → Iterator, …): ``from asyncio import
#: sleep`` becomes ``from time import sleep``, ``info_plan.arun`` ``info_plan.run``.
TOKENS = {"asyncio": "time", "arun": "run"}

#: Literal replacements on unasync's output: the client types, and what the files say of
#: themselves.
LITERALS = [
    ("from redis import time as aioredis\n", ""),  # `asyncio` renamed by TOKENS
    ("    client: aioredis.Redis\n", "    client: Client\n"),
    ("from queues.connection import ", "from queues.connection import Client, "),
    ("isinstance(self.client, aioredis.Redis)", "isinstance(self.client, redis.Redis)"),
    ("Callable[[Any], Awaitable[Any]]", "Callable[[Any], Any]"),
    ("  # type: ignore[misc]", ""),  # what redis.asyncio's stubs need, redis's do not
    ('logging.getLogger("queues.aio.producer")', 'logging.getLogger("queues.producer")'),
    ("from queues.aio.", "from queues."),  # queues.aio mirrors the sync modules
]


def header(source: str) -> str:
    return (
        f"# Generated from {source} by unasync: edit that file, then run\n"
        "# `python -m tests.support.unasync_twins` (tests/queues/test_unasync_twins.py fails\n"
        "# while this copy is stale).\n"
    )


def generate(source: str, text: str | None = None) -> str:
    """The sync text made now from the asyncio file ``source`` (or from ``text`` given as
    its content)."""
    name = Path(source).name
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "aio", name)
        path.parent.mkdir()
        path.write_text(
            (ROOT / source).read_text(encoding="utf-8") if text is None else text,
            encoding="utf-8",
        )
        rule = unasync.Rule(f"{path.parent}/", f"{tmp}/", additional_replacements=TOKENS)
        unasync.unasync_files([str(path)], [rule])
        text = Path(tmp, name).read_text(encoding="utf-8")
    for old, new in LITERALS:
        text = text.replace(old, new)
    text = header(source) + text
    # ruff reads the text as the target file, so it applies the project's settings to it
    target = TWINS[source]
    for command in (["check", "--fix", "-q", "--select", "I,F401"], ["format", "-q"]):
        text = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--stdin-filename", target, "-"],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
    return text


def stale() -> list[str]:
    """The generated files that differ from what their source makes now."""
    return [
        target
        for source, target in TWINS.items()
        if generate(source) != (ROOT / target).read_text(encoding="utf-8")
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which files are stale")
    args = parser.parse_args(argv)
    if args.check:
        found = stale()
        for target in found:
            print(f"stale: {target} (run python -m tests.support.unasync_twins)")
        return 1 if found else 0
    for source, target in TWINS.items():
        (ROOT / target).write_text(generate(source), encoding="utf-8")
        print(f"{source} -> {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
