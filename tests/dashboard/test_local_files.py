"""What `make run` (manage.py serve) leaves on disk and in Redis is for its user only.

.data/ holds the SQLite database (sessions), the admin password, the secret key and the
managed Redis: other local users must not read any of it, a file planted where a secret is
about to be written must not receive it, the password is not printed, and the redis-server
that serve starts answers nobody without a password.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.contrib.auth import authenticate

from dashboard.management.commands.serve import Command
from tests.support.redis_process import free_port

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_the_data_dir_and_the_sqlite_database_are_private(tmp_path):
    data = tmp_path / ".data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # as older versions left it
    code = (
        "import django; django.setup(); from pathlib import Path; "
        "from django.core.management import call_command; "
        "from dashboard.management.commands.serve import private_data_dir; "
        f"private_data_dir(Path({str(data)!r})); "
        "call_command('migrate', interactive=False, verbosity=0)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings.base",
        "DATABASE_URL": f"sqlite:///{data / 'streamwarden.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr

    assert mode(data) == 0o700
    database = data / "streamwarden.sqlite3"
    assert database.exists()
    assert mode(database) & 0o077 == 0, oct(mode(database))


def test_a_sqlite_database_left_readable_by_older_versions_is_made_private(tmp_path):
    from dashboard.management.commands.serve import private_sqlite_files

    database = tmp_path / "streamwarden.sqlite3"
    for path in (database, tmp_path / "streamwarden.sqlite3-wal"):
        path.write_bytes(b"sessions")
        path.chmod(0o644)

    private_sqlite_files({"ENGINE": "django.db.backends.sqlite3", "NAME": str(database)})

    assert mode(database) == 0o600
    assert mode(tmp_path / "streamwarden.sqlite3-wal") == 0o600


@pytest.mark.django_db
def test_the_admin_password_is_written_private_never_through_a_planted_link_nor_printed(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("STREAMWARDEN_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("STREAMWARDEN_ADMIN_USER", raising=False)
    victim = tmp_path / "world-readable.txt"
    victim.write_text("victim\n")
    victim.chmod(0o644)
    (tmp_path / "admin-password").symlink_to(victim)  # planted before the first start
    out = io.StringIO()

    Command(stdout=out)._ensure_admin(tmp_path)

    assert victim.read_text() == "victim\n"
    password_file = tmp_path / "admin-password"
    assert not password_file.is_symlink()
    assert mode(password_file) == 0o600
    password = password_file.read_text().strip()
    assert authenticate(username="admin", password=password) is not None
    assert password not in out.getvalue()
    assert str(password_file) in out.getvalue()


@pytest.mark.django_db
def test_a_password_from_the_environment_is_not_printed(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWARDEN_ADMIN_PASSWORD", "pw-from-env-for-tests")
    out = io.StringIO()

    Command(stdout=out)._ensure_admin(tmp_path)

    assert "pw-from-env-for-tests" not in out.getvalue()
    assert not (tmp_path / "admin-password").exists()


def test_the_secret_key_is_kept_private_and_stable(tmp_path):
    key = Command()._secret_key(tmp_path)

    assert len(key) >= 50
    assert mode(tmp_path / "secret-key") == 0o600
    assert Command()._secret_key(tmp_path) == key


def test_the_managed_redis_server_requires_a_password(tmp_path):
    url = f"redis://127.0.0.1:{free_port()}/0"
    command = Command(stdout=io.StringIO())

    child, effective_url = command._ensure_redis(url, tmp_path)
    try:
        assert child is not None
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(url).ping()
        assert redis.Redis.from_url(effective_url).ping()
        assert mode(tmp_path / "redis-password") == 0o600
        assert (tmp_path / "redis-password").read_text().strip() in effective_url
        # Nothing on the command line (ps shows it to every local user).
        cmdline = Path(f"/proc/{child.proc.pid}/cmdline").read_bytes()
        assert (tmp_path / "redis-password").read_text().strip().encode() not in cmdline

        # A second start finds the running server through the kept password.
        again, again_url = command._ensure_redis(url, tmp_path)
        assert again is None and again_url == effective_url
    finally:
        if child is not None and child.proc is not None:
            child.proc.terminate()
            child.proc.wait(10)
