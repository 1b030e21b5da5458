"""The monitor's bulk rows, written with one prepared statement per batch.

At 10 000 queues the ORM's ``bulk_create`` spent most of a cycle building model instances
and SQL; these write the same columns with ``executemany`` (SQLite and PostgreSQL both
understand ``INSERT … ON CONFLICT … DO UPDATE``). Values are plain: JSON is dumped here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from dashboard.models import MetricSnapshot, QueueState

#: Rows per executemany call (bounded memory for the parameters).
BATCH = 2000


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _executemany(sql: str, rows: Sequence[Sequence[Any]]) -> None:
    # One transaction: in autocommit every row would be its own commit (and fsync).
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[start : start + BATCH])


def _adapter() -> Any:
    # Looked up once per call: the connection proxy costs a context-local lookup each time.
    return connection.ops.adapt_datetimefield_value


def upsert_queue_states(rows: Sequence[tuple[str, datetime, dict[str, Any], list[int]]]) -> None:
    """(queue, at, data, sparkline) rows: inserted, or replacing the queue's row."""
    table = _quote(QueueState._meta.db_table)
    sql = (
        f"INSERT INTO {table} (queue, at, data, sparkline) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (queue) DO UPDATE SET at = excluded.at, data = excluded.data, "
        "sparkline = excluded.sparkline"
    )
    at_value = _adapter()
    _executemany(
        sql, [(q, at_value(at), json.dumps(data), json.dumps(line)) for q, at, data, line in rows]
    )


SNAPSHOT_COLUMNS = (
    "queue",
    "resolution",
    "at",
    "length",
    "lag",
    "pending",
    "consumers",
    "active_consumers",
    "dead_letters",
    "oldest_pending_ms",
    "oldest_undelivered_ms",
    "rate_in",
    "rate_out",
    "status",
    "trend",
    "groups",
)


def insert_snapshots(rows: Sequence[dict[str, Any]]) -> None:
    """Raw MetricSnapshot rows, each a dict of SNAPSHOT_COLUMNS (``at`` a datetime)."""
    table = _quote(MetricSnapshot._meta.db_table)
    columns = ", ".join(_quote(c) for c in SNAPSHOT_COLUMNS)
    marks = ", ".join(["%s"] * len(SNAPSHOT_COLUMNS))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
    values = []
    at_value = _adapter()
    for row in rows:
        prepared = {**row, "at": at_value(row["at"]), "groups": json.dumps(row["groups"])}
        values.append([prepared[c] for c in SNAPSHOT_COLUMNS])
    _executemany(sql, values)
