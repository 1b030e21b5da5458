"""The dashboard as real processes for end-to-end tests (a prepared database, Daphne and the
background commands, torn down with their tracebacks shown), and Debian Chromium for them."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.redis_process import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out of this closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@contextmanager
def running_stack(
    tmp_path: Path,
    *,
    env: dict[str, str],
    setup_script: str,
    commands: dict[str, list[str]],
) -> Iterator[str]:
    """Migrate a fresh SQLite file, run ``setup_script`` in ``manage.py shell``, start Daphne
    and the management ``commands`` (name -> arguments); yield the base URL."""
    port = free_port()
    full_env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'browser.sqlite3'}",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=full_env, check=True, timeout=120)
    subprocess.run(
        [*manage, "shell", "-c", setup_script], cwd=ROOT, env=full_env, check=True, timeout=60
    )
    daphne = str(Path(sys.executable).with_name("daphne"))
    argvs = {
        "daphne": [daphne, "-b", "127.0.0.1", "-p", str(port), "dashboard.asgi:application"],
        **{name: [*manage, *args] for name, args in commands.items()},
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = []
    for name, argv in argvs.items():
        with open(logs / f"{name}.log", "wb") as log_file:  # the child keeps its own handle
            procs.append(
                subprocess.Popen(
                    argv, cwd=ROOT, env=full_env, stdout=log_file, stderr=subprocess.STDOUT
                )
            )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: urllib.request.urlopen(base + "/health", timeout=1).status == 200, 20)
        yield base
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs.iterdir():
            tail = log.read_text(errors="replace")[-3000:]
            if "Traceback" in tail:
                print(f"--- {log.name}\n{tail}")


def log_in(page: Any, base: str, username: str, password: str) -> None:
    """Sign in through the login form of the stack at ``base``, as a person does."""
    page.goto(base + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
