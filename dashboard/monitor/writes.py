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
#: Rows from which an update on PostgreSQL goes through a temporary table (four statements
#: whatever the count) rather than a statement per row.
STAGE_FROM = 50


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def insert_rows(
    db: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], tail: str = ""
) -> None:
    """``INSERT INTO table (columns) VALUES (…) tail`` for every row, on connection ``db``
    (names quoted by the caller). SQLite runs one prepared statement for all rows
    (``executemany``, in process). On PostgreSQL Django's client-side cursor paid a round
    trip per row (70 000 alert rows: 5 s): plain inserts go by ``COPY``, the others by
    ``executemany`` on a server-side-binding cursor (pipelined)."""
    if not rows:
        return
    head = f"INSERT INTO {table} ({', '.join(columns)})"
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            for start in range(0, len(rows), BATCH):
                cursor.executemany(f"{head} VALUES {marks} {tail}", rows[start : start + BATCH])
        return
    import psycopg

    db.ensure_connection()
    with psycopg.Cursor(db.connection) as cursor:
        if not tail:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        cursor.executemany(f"{head} VALUES {marks} {tail}", rows)


def update_rows(
    db: Any, table: str, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """``UPDATE table SET columns = … WHERE key = …`` for every row (its ``columns`` values,
    then its key), on connection ``db`` (names quoted by the caller). SQLite runs one
    prepared statement for all rows (``executemany``, in process). On PostgreSQL that paid
    a round trip per row (a storm of 70 000 alerts resolving): from STAGE_FROM rows on, they
    are copied into a temporary table of the same column types and applied by one
    ``UPDATE … FROM``."""
    if not rows:
        return
    if db.vendor != "postgresql" or len(rows) < STAGE_FROM:
        sets = ", ".join(f"{column} = %s" for column in columns)
        with db.cursor() as cursor:
            for start in range(0, len(rows), BATCH):
                cursor.executemany(
                    f"UPDATE {table} SET {sets} WHERE {key} = %s", rows[start : start + BATCH]
                )
        return
    import psycopg

    staged = "sw_staged_update"
    listed = ", ".join(columns)
    sets = ", ".join(f"{column} = s.{column}" for column in columns)
    # In a transaction: a failure part-way leaves neither the table nor half the rows.
    with transaction.atomic(using=db.alias):
        db.ensure_connection()
        with psycopg.Cursor(db.connection) as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {staged} AS SELECT {listed}, {key} FROM {table} "
                "WITH NO DATA"
            )
            with cursor.copy(f"COPY {staged} ({listed}, {key}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"UPDATE {table} AS t SET {sets} FROM {staged} AS s WHERE t.{key} = s.{key}"
            )
            cursor.execute(f"DROP TABLE {staged}")


def _insert(
    table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], tail: str = ""
) -> None:
    # One transaction: in autocommit every row would be its own commit (and fsync).
    with transaction.atomic():
        insert_rows(connection, table, columns, rows, tail)


def _adapter() -> Any:
    """The database value of a datetime, each distinct one adapted once (the queues of one
    poll share their time); looked up once per call, as the connection proxy costs a
    context-local lookup each time."""
    adapt = connection.ops.adapt_datetimefield_value
    done: dict[datetime, Any] = {}

    def value(at: datetime) -> Any:
        found = done.get(at)
        if found is None:
            found = done[at] = adapt(at)
        return found

    return value


def upsert_queue_states(rows: Sequence[tuple[str, datetime, dict[str, Any], list[int]]]) -> None:
    """(queue, at, data, sparkline) rows: inserted, or replacing the queue's row."""
    table = _quote(QueueState._meta.db_table)
    at_value = _adapter()
    _insert(
        table,
        ["queue", "at", "data", "sparkline"],
        [(q, at_value(at), json.dumps(data), json.dumps(line)) for q, at, data, line in rows],
        "ON CONFLICT (queue) DO UPDATE SET at = excluded.at, data = excluded.data, "
        "sparkline = excluded.sparkline",
    )


def update_sparklines(rows: Sequence[tuple[str, list[int]]]) -> None:
    """(queue, sparkline) rows: the sparkline of each queue's existing row."""
    with transaction.atomic():
        update_rows(
            connection,
            _quote(QueueState._meta.db_table),
            _quote("queue"),
            [_quote("sparkline")],
            [(json.dumps(line), queue) for queue, line in rows],
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
    insert_snapshot_rows([[row[c] for c in SNAPSHOT_COLUMNS] for row in rows])


_AT, _GROUPS = SNAPSHOT_COLUMNS.index("at"), SNAPSHOT_COLUMNS.index("groups")


def insert_snapshot_rows(rows: Sequence[list[Any]]) -> None:
    """Raw MetricSnapshot rows, each the values of SNAPSHOT_COLUMNS in their order (``at`` a
    datetime, ``groups`` a dict): the monitor's 10 000 rows without a dict each. The rows
    are prepared in place."""
    table = _quote(MetricSnapshot._meta.db_table)
    columns = [_quote(c) for c in SNAPSHOT_COLUMNS]
    at_value = _adapter()
    dumps = json.dumps
    for row in rows:
        row[_AT] = at_value(row[_AT])
        row[_GROUPS] = dumps(row[_GROUPS])
    _insert(table, columns, rows)
