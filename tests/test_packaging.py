"""The wheel: ``pip install streamwarden`` gives the library with redis-py only (Django
absent), ``streamwarden[dashboard]`` the dashboard with its templates and static files.

Each test installs the wheel built from this tree into a fresh venv (``python -m venv``;
pip uses whatever index the machine's pip configuration names) and runs outside the
repository, so nothing is imported from the source tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, ROOT, cwd=out)
    (built,) = out.glob("streamwarden-*.whl")
    yield built


def venv_with(wheel: Path, where: Path, requirement: str) -> Path:
    """A fresh venv at ``where`` with ``requirement`` (the wheel's path plus extras)."""
    run(sys.executable, "-m", "venv", where, cwd=where.parent)
    python = where / "bin" / "python"
    # PYTHONPATH/DJANGO_SETTINGS_MODULE of the test run must not leak into the venv.
    run(python, "-m", "pip", "install", "--quiet", requirement, cwd=where.parent)
    return python


CLEAN_ENV = {"PYTHONPATH": "", "DJANGO_SETTINGS_MODULE": ""}

LIBRARY_SCRIPT = """
import importlib.util, json, sys
import queues
from queues import Consumer, Manager, Producer

url, name = sys.argv[1], sys.argv[2]
seen = []
producer = Producer(name, redis=url)
ids = [producer.publish({"n": i}) for i in range(3)]
Consumer(name, "g", lambda m: seen.append(m.payload), url, block_ms=100).run(burst=True)
info = Manager(url).info(name)
print(json.dumps({
    "file": queues.__file__,
    "django_installed": importlib.util.find_spec("django") is not None,
    "django_imported": sorted(m for m in sys.modules if m.split(".")[0] == "django"),
    "seen": seen,
    "length": info.length,
    "pending": info.group("g").pending,
}))
"""


def test_the_wheel_without_extras_runs_the_library_with_django_absent(
    wheel: Path, tmp_path: Path, redis_url: str, queue_name: str
) -> None:
    python = venv_with(wheel, tmp_path / "lib", str(wheel))
    out = run(python, "-c", LIBRARY_SCRIPT, redis_url, queue_name, cwd=tmp_path, env=CLEAN_ENV)
    state = json.loads(out)
    assert Path(state["file"]).is_relative_to(tmp_path / "lib")
    assert state["django_installed"] is False
    assert state["django_imported"] == []
    assert state["seen"] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert (state["length"], state["pending"]) == (3, 0)


DASHBOARD_SCRIPT = """
import json, django
import dashboard
django.setup()
from django.contrib.staticfiles import finders
from django.template.loader import get_template
pages = ["base.html", "dashboard/home.html", "dashboard/queue.html", "alerts/list.html",
         "registration/login.html", "admin/queues/queuedefinition/discover.html"]
print(json.dumps({
    "file": dashboard.__file__,
    "templates": [get_template(p).origin.name for p in pages],
    "static": [finders.find(p) for p in ["js/live.js", "css/streamwarden.css",
                                         "vendor/chartjs/chart.umd.min.js"]],
}))
"""


def test_the_wheel_with_the_dashboard_extra_passes_django_check(
    wheel: Path, tmp_path: Path, redis_url: str
) -> None:
    python = venv_with(wheel, tmp_path / "web", f"streamwarden[dashboard] @ {wheel.as_uri()}")
    env = {
        **CLEAN_ENV,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings.production",
        "SECRET_KEY": "packaging-test-" + "k" * 50,
        "ALLOWED_HOSTS": "dashboard.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'web.sqlite3'}",
        "REDIS_URL": redis_url,
    }
    django_admin = tmp_path / "web" / "bin" / "django-admin"
    checked = run(django_admin, "check", cwd=tmp_path, env=env)
    assert "no issues" in checked
    run(django_admin, "migrate", "--no-input", cwd=tmp_path, env=env)
    state = json.loads(run(python, "-c", DASHBOARD_SCRIPT, cwd=tmp_path, env=env))
    installed = tmp_path / "web"
    assert Path(state["file"]).is_relative_to(installed)
    for found in state["templates"] + state["static"]:
        assert found is not None and Path(found).is_relative_to(installed), found
