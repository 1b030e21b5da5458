"""`manage.py serve` — what `make run` starts: Redis if needed, migrations, an admin account,
Daphne, and the background processes (monitor, notifier, demo workload) under one supervisor.

Everything it keeps lives in ``.data/`` and is for the user running it only: the directory is
0700, the umask 077 (inherited by every process it starts, so the SQLite database and logs are
private too), secrets are written to a fresh 0600 file that then replaces the old name (a file
or link planted there never receives them), and the redis-server it starts requires a password
(kept in ``.data/redis-password``, handed to redis-server in a private config file, never on a
command line).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlsplit, urlunsplit

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

from dashboard import conf
from queues.redact import redact_url


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = field(default=0.0)

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv)
        self.started_at = time.monotonic()


class Command(BaseCommand):
    help = "Run the dashboard with everything it needs (used by `make run`)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("STREAMWARDEN_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def execute(self, *args: Any, **options: Any) -> Any:
        # Before the system checks: they open the database, which creates a SQLite file.
        private_data_dir(Path(settings.BASE_DIR) / ".data")
        return super().execute(*args, **options)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        data_dir = private_data_dir(Path(settings.BASE_DIR) / ".data")
        if not os.environ.get("SECRET_KEY"):
            # One key for all processes and restarts (sessions survive), never a public one.
            os.environ["SECRET_KEY"] = self._secret_key(data_dir)
        children: list[Child] = []
        redis_child, redis_url = self._ensure_redis(conf.redis_url(), data_dir)
        if redis_child is not None:
            children.append(redis_child)
        if redis_url != conf.redis_url():
            os.environ["REDIS_URL"] = redis_url  # the processes started below read it
        call_command("migrate", interactive=False, verbosity=0)
        private_sqlite_files(dict(settings.DATABASES["default"]))
        self._ensure_admin(data_dir)
        children.extend(self._children(host, port))
        for child in children:
            if child.proc is None:
                child.start()
        self.stdout.write(
            self.style.SUCCESS(f"StreamWarden on http://{host}:{port}/  (Ctrl-C stops)")
        )
        self._supervise(children)

    def _secret_key(self, data_dir: Path) -> str:
        return read_or_create_secret(data_dir / "secret-key", lambda: secrets.token_urlsafe(50))

    def _ensure_redis(self, url: str, data_dir: Path) -> tuple[Child | None, str]:
        """The redis-server child started (None if one answers) and the URL to reach it."""
        if _redis_answers(url):
            self.stdout.write(f"Redis answers at {redact_url(url)}")
            return None, url
        password_file = data_dir / "redis-password"
        if password_file.exists():
            # The managed server of an earlier run, still up (serve was killed).
            managed = _with_password(url, password_file.read_text().strip())
            if _redis_answers(managed):
                self.stdout.write(f"Redis answers at {redact_url(managed)}")
                return None, managed
        parsed = urlparse(url)
        if parsed.hostname not in {"127.0.0.1", "localhost", "::1"}:
            raise CommandError(
                f"No Redis answers at {redact_url(url)} and it is not local: start it first."
            )
        binary = shutil.which("redis-server")
        if binary is None:
            raise CommandError("redis-server is not installed: apt-get install -y redis-server")
        redis_dir = data_dir / "redis"
        redis_dir.mkdir(mode=0o700, exist_ok=True)
        port = str(parsed.port or 6379)
        password = parsed.password or read_or_create_secret(
            password_file, lambda: secrets.token_urlsafe(24)
        )
        url = _with_password(url, password)
        config = redis_dir / "redis.conf"
        write_private(config, f"requirepass {password}\n")
        self.stdout.write(f"No Redis at {redact_url(url)}: starting redis-server in {redis_dir}")
        child = Child(
            "redis",
            [
                binary,
                str(config),
                "--port",
                port,
                "--bind",
                "127.0.0.1",
                "--dir",
                str(redis_dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
                "--logfile",
                str(redis_dir / "redis.log"),
            ],
        )
        child.start()
        deadline = time.monotonic() + 15
        while not _redis_answers(url):
            if time.monotonic() > deadline or (child.proc and child.proc.poll() is not None):
                raise CommandError(f"redis-server did not start; see {redis_dir / 'redis.log'}")
            time.sleep(0.1)
        return child, url

    def _ensure_admin(self, data_dir: Path) -> None:
        username = os.environ.get("STREAMWARDEN_ADMIN_USER", "admin")
        password = os.environ.get("STREAMWARDEN_ADMIN_PASSWORD")
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            if password:
                user = user_model.objects.get(username=username)
                user.set_password(password)
                user.save(update_fields=["password"])
            note = (
                "(password from STREAMWARDEN_ADMIN_PASSWORD)"
                if password
                else (f"(password in {data_dir / 'admin-password'})")
            )
            self.stdout.write(f"Admin account: {username} {note}")
            return
        password_file = data_dir / "admin-password"
        if password:
            note = "(password from STREAMWARDEN_ADMIN_PASSWORD)"
        else:
            password = secrets.token_urlsafe(12)
            write_private(password_file, password + "\n")
            note = f"(password in {password_file})"
        user_model.objects.create_superuser(username, "", password)
        # Never the password itself: terminals are logged and scrolled back.
        self.stdout.write(self.style.WARNING(f"Created admin account: {username} {note}"))

    def _children(self, host: str, port: int) -> list[Child]:
        python = sys.executable
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        daphne = str(Path(python).with_name("daphne"))
        children = [
            Child("daphne", [daphne, "-b", host, "-p", str(port), "dashboard.asgi:application"])
        ]
        known = get_commands()
        # Background processes, each its own process (never inside web workers).
        for name, flag in (("monitor", None), ("notifier", None), ("demo", "STREAMWARDEN_DEMO")):
            if name not in known:
                continue
            if flag and os.environ.get(flag, "1").lower() in {"0", "false", "no", "off"}:
                continue
            children.append(Child(name, [python, manage, name]))
        return children

    def _supervise(self, children: list[Child]) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for child in children:
                    if child.proc is not None and child.proc.poll() is not None:
                        code = child.proc.returncode
                        # Back off a crash loop instead of spinning.
                        if time.monotonic() - child.started_at < 5:
                            time.sleep(min(30, 2 ** min(child.restarts, 5)))
                        child.restarts += 1
                        self.stderr.write(f"{child.name} exited with {code}; restarting")
                        child.start()
                time.sleep(0.5)
        finally:
            for child in reversed(children):
                if child.proc is not None and child.proc.poll() is None:
                    child.proc.terminate()
            for child in reversed(children):
                if child.proc is not None:
                    try:
                        child.proc.wait(10)
                    except subprocess.TimeoutExpired:
                        child.proc.kill()


def private_data_dir(path: Path) -> Path:
    """Make ``path`` (``.data``) a directory only its owner can enter, and set umask 077.

    The umask holds for this process and every process it starts, so whatever they create
    (SQLite database and journal, Redis files, logs) is private from the start; the chmod
    also closes a directory older versions left world-readable.
    """
    os.umask(0o077)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def private_sqlite_files(database: dict[str, Any]) -> None:
    """Make a SQLite database (it holds the sessions) and its WAL files 0600, wherever it is.

    New files are private by the umask; this closes files older versions left readable.
    """
    if not str(database.get("ENGINE", "")).endswith("sqlite3"):
        return
    name = str(database.get("NAME", ""))
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    for suffix in ("", "-wal", "-shm"):
        path = Path(name + suffix)
        if path.is_file() and not path.is_symlink():
            path.chmod(0o600)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as a new 0600 file, atomically replacing what was there.

    The file is created exclusively under a fresh name (O_EXCL, O_NOFOLLOW: no file or link
    planted there is ever opened) and renamed over ``path`` (a planted link is replaced, its
    target untouched): no window where the secret sits in a readable file.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read_or_create_secret(path: Path, make: Callable[[], str]) -> str:
    """The secret kept in ``path``, or a new one from ``make`` written there privately.

    A kept secret is reused only from a regular file of ours (tightened to 0600); anything
    else there (a link, another user's file) is replaced.
    """
    try:
        info = path.lstat()
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid():
        path.chmod(0o600)
        value = path.read_text().strip()
        if value:
            return value
    value = make()
    write_private(path, value + "\n")
    return value


def _with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    hosts = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{password}@{hosts}"))


def _redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()
