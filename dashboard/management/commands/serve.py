"""`manage.py serve` — what `make run` starts: Redis if needed, migrations, an admin account,
Daphne, and the background processes (monitor, notifier, demo workload) under one supervisor.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

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

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        data_dir = Path(settings.BASE_DIR) / ".data"
        data_dir.mkdir(exist_ok=True)
        children: list[Child] = []
        redis_child = self._ensure_redis(conf.redis_url(), data_dir)
        if redis_child is not None:
            children.append(redis_child)
        call_command("migrate", interactive=False, verbosity=0)
        self._ensure_admin(data_dir)
        children.extend(self._children(host, port))
        for child in children:
            if child.proc is None:
                child.start()
        self.stdout.write(
            self.style.SUCCESS(f"StreamWarden on http://{host}:{port}/  (Ctrl-C stops)")
        )
        self._supervise(children)

    def _ensure_redis(self, url: str, data_dir: Path) -> Child | None:
        if _redis_answers(url):
            self.stdout.write(f"Redis answers at {redact_url(url)}")
            return None
        parsed = urlparse(url)
        if parsed.hostname not in {"127.0.0.1", "localhost", "::1"}:
            raise CommandError(
                f"No Redis answers at {redact_url(url)} and it is not local: start it first."
            )
        binary = shutil.which("redis-server")
        if binary is None:
            raise CommandError("redis-server is not installed: apt-get install -y redis-server")
        redis_dir = data_dir / "redis"
        redis_dir.mkdir(exist_ok=True)
        port = str(parsed.port or 6379)
        self.stdout.write(f"No Redis at {redact_url(url)}: starting redis-server in {redis_dir}")
        child = Child(
            "redis",
            [
                binary,
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
        return child

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
        if not password:
            password = secrets.token_urlsafe(12)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        user_model.objects.create_superuser(username, "", password)
        self.stdout.write(self.style.WARNING(f"Created admin account: {username} / {password}"))

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


def _redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()
