"""A foreign client for tests: ``redis-cli`` (shipped with redis-server), never our library.

Plain streams in the tests are written, read, claimed and acknowledged by it, the way a
service in another language would, so nothing of StreamWarden's shapes them.
"""

from __future__ import annotations

import shutil
import subprocess


def redis_cli(url: str, *args: str | bytes, stdin: bytes | None = None) -> str:
    """Run one command with ``redis-cli -u url``; its reply as text. With ``stdin`` the
    last argument is read from it (``-x``: binary-safe, NUL included). Raises on a Redis
    error reply (redis-cli prints "(error) ..." / "ERR ..." and still exits 0)."""
    binary = shutil.which("redis-cli")
    if binary is None:
        raise RuntimeError("redis-cli not found: apt-get install -y redis-tools")
    command: list[str | bytes] = [binary, "-u", url, "--no-raw"]
    if stdin is not None:
        command.append("-x")
    done = subprocess.run(
        [*command, *args], input=stdin, capture_output=True, timeout=30, check=False
    )
    out = done.stdout.decode("utf-8", errors="replace")
    if done.returncode != 0 or out.startswith("(error)"):
        raise RuntimeError(f"redis-cli {args!r} failed: {out} {done.stderr!r}")
    return out
