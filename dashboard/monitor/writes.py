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


#: Parameters per multi-row statement on PostgreSQL (its limit is 65 535).
PG_PARAMS = 30_000


def insert_rows(
    db: Any, head: str, rows: Sequence[Sequence[Any]], tail: str = "", *, width: int
) -> None:
    """``head VALUES (…) tail`` for every row of ``width`` values, on connection ``db``:
    SQLite runs one prepared statement for all (``executemany``, in process); PostgreSQL
    takes many rows per statement (its ``executemany`` paid a round trip per row: 70 000
    alert rows took 5 s)."""
    if not rows:
        return
    marks = "(" + ", ".join(["%s"] * width) + ")"
    with db.cursor() as cursor:
        if db.vendor != "postgresql":
            for start in range(0, len(rows), BATCH):
                cursor.executemany(f"{head} VALUES {marks} {tail}", rows[start : start + BATCH])
            return
        per = max(1, PG_PARAMS // width)
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            cursor.execute(
                f"{head} VALUES {', '.join([marks] * len(chunk))} {tail}",
                [value for row in chunk for value in row],
            )


def _executemany(head: str, rows: Sequence[Sequence[Any]], tail: str = "") -> None:
    # One transaction: in autocommit every row would be its own commit (and fsync).
    with transaction.atomic():
        insert_rows(connection, head, rows, tail, width=len(rows[0]) if rows else 0)


def _adapter() -> Any:
    # Looked up once per call: the connection proxy costs a context-local lookup each time.
    return connection.ops.adapt_datetimefield_value


def upsert_queue_states(rows: Sequence[tuple[str, datetime, dict[str, Any], list[int]]]) -> None:
    """(queue, at, data, sparkline) rows: inserted, or replacing the queue's row."""
    table = _quote(QueueState._meta.db_table)
    at_value = _adapter()
    _executemany(
        f"INSERT INTO {table} (queue, at, data, sparkline)",
        [(q, at_value(at), json.dumps(data), json.dumps(line)) for q, at, data, line in rows],
        "ON CONFLICT (queue) DO UPDATE SET at = excluded.at, data = excluded.data, "
        "sparkline = excluded.sparkline",
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
    sql = f"INSERT INTO {table} ({columns})"
    values = []
    at_value = _adapter()
    for row in rows:
        prepared = {**row, "at": at_value(row["at"]), "groups": json.dumps(row["groups"])}
        values.append([prepared[c] for c in SNAPSHOT_COLUMNS])
    _executemany(sql, values)
