"""A per-message effect counter in the Django database, for the effectively-once tests,
chaos run and benchmark: one row per message key, ``n`` = how many times its effect ran."""

from __future__ import annotations

from django.db import connections

TABLE = "once_test_effect"


def create_table(using: str = "default") -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (k VARCHAR(100) PRIMARY KEY, n INTEGER NOT NULL)"
        )
        cursor.execute(f"DELETE FROM {TABLE}")


def drop_table(using: str = "default") -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def add_effect(key: str, using: str = "default") -> None:
    """The handler's write: add 1 to the counter of ``key`` (SQLite >= 3.24 and PostgreSQL)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (k, n) VALUES (%s, 1) "
            f"ON CONFLICT (k) DO UPDATE SET n = {TABLE}.n + 1",
            [key],
        )


def effects(using: str = "default") -> dict[str, int]:
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT k, n FROM {TABLE}")
        return {k: int(n) for k, n in cursor.fetchall()}
