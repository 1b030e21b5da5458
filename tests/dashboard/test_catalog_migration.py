"""The queue catalogue moved from the library package (``queues/``) into the dashboard
(``dashboard/catalog/``): a database made before the move migrates with nothing lost.

``data/db_before_catalog_move.sql`` is a SQLite dump made by the code before the move
(commit aeade68: ``manage.py migrate``, then two queue definitions, a threshold override, a
user holding ``queues.operate_queue`` and a group holding both queue permissions)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DUMP = Path(__file__).parent / "data" / "db_before_catalog_move.sql"

pytestmark = pytest.mark.slow

OLD_MIGRATIONS = [
    "0001_initial",
    "0002_global_default_thresholds",
    "0003_queue_maxlen",
    "0004_queue_stream",
]

READ_BACK = """
import json
from django.contrib.auth.models import User
from dashboard.catalog.models import QueueDefinition, Threshold
orders = QueueDefinition.objects.get(name="orders")
print(json.dumps({
    "definitions": sorted(QueueDefinition.objects.values_list("name", "queue", "stream", "maxlen")),
    "orders_override_lag": Threshold.effective_for(orders).as_dict()["lag"],
    "global_rows": Threshold.objects.filter(queue__isnull=True).count(),
    "operator_operates": User.objects.get(username="operator").has_perm("queues.operate_queue"),
    "operator_destroys": User.objects.get(username="operator").has_perm("queues.destroy_queue"),
    "admin2_destroys": User.objects.get(username="admin2").has_perm("queues.destroy_queue"),
}))
"""


def manage(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings.test",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def queues_migrations(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as db:
        return db.execute(
            "SELECT name, applied FROM django_migrations WHERE app = 'queues' ORDER BY id"
        ).fetchall()


def test_a_database_made_before_the_move_migrates_without_loss(tmp_path: Path) -> None:
    database = tmp_path / "before.sqlite3"
    with sqlite3.connect(database) as db:
        db.executescript(DUMP.read_text(encoding="utf-8"))
    before = queues_migrations(database)
    assert [name for name, _ in before] == OLD_MIGRATIONS

    migrated = manage(database, "migrate", "--no-input")
    assert migrated.returncode == 0, migrated.stderr
    # The history rows are the same ones (same names, same applied times): nothing re-ran.
    assert queues_migrations(database)[: len(before)] == before

    check = manage(database, "makemigrations", "--check", "--dry-run")
    assert check.returncode == 0, check.stdout + check.stderr

    read = manage(database, "shell", "-c", READ_BACK)
    assert read.returncode == 0, read.stderr
    state = json.loads(read.stdout.strip().splitlines()[-1])
    assert state["definitions"] == [
        ["events-plain", "", "events/raw", None],
        ["orders", "orders-q", "", 5000],
    ]
    assert state["orders_override_lag"] == {"warn": 5.0, "alert": 50.0}
    assert state["global_rows"] == 1
    assert state["operator_operates"] is True
    assert state["operator_destroys"] is False
    assert state["admin2_destroys"] is True
