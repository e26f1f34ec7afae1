"""Bulk reads and writes on PostgreSQL where Django's row-at-a-time paths cost too much.

A full rescore reads millions of event rows and writes a score, a history row and
sometimes a stage change per lead. Django binds parameters on the client (every
value rendered into SQL text in Python, JSON escaped character by character) and
converts every timestamp and JSON value it reads in Python. These helpers run on
Django's own connection, inside the caller's transaction, with server-side
binding, binary arrays and psycopg's C loaders. Callers keep a portable ORM path
for other databases (the SQLite demo): see `is_postgresql()`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import psycopg
from django.core.exceptions import EmptyResultSet
from django.db import connection
from psycopg.types.datetime import TimestamptzBinaryLoader
from psycopg.types.json import JsonbBinaryLoader


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _cursor() -> psycopg.Cursor:
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def unnest_insert(table: str, columns: Sequence[tuple[str, str]], rows: list[tuple], *, conflict: str = "") -> None:
    """INSERT many rows in one `INSERT ... SELECT FROM unnest(arrays)`, PostgreSQL only.

    `columns` are (name, SQL type) pairs in the rows' order; a `jsonb` column takes
    Python values (dumped here). The arrays travel in binary, so text needs no escaping.
    """
    if not rows:
        return
    jsonb = {index for index, (_, kind) in enumerate(columns) if kind == "jsonb"}
    arrays = [
        [json.dumps(value) for value in values] if index in jsonb else list(values)
        for index, values in enumerate(zip(*rows, strict=True))
    ]
    names = [name for name, _ in columns]
    selects = [f"v.{name}::jsonb" if index in jsonb else f"v.{name}" for index, name in enumerate(names)]
    unnests = ", ".join(f"%b::{'text' if kind == 'jsonb' else kind}[]" for _, kind in columns)
    sql = (
        f"INSERT INTO {table} ({', '.join(names)}) "  # noqa: S608 - identifiers are the caller's own
        f"SELECT {', '.join(selects)} FROM unnest({unnests}) AS v({', '.join(names)}) {conflict}"
    )
    with _cursor() as cursor:
        cursor.execute(sql, arrays)


def fetch_value(sql: str, params: Sequence) -> object:
    """The first column of the first row of one statement, bound on the server (PostgreSQL only)."""
    with _cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def values_rows(queryset) -> Iterable[tuple]:
    """The rows of a `values_list()` queryset; on PostgreSQL read with binary results and C loaders
    (several times faster for timestamps and JSON than Django's converters)."""
    if not is_postgresql():
        return queryset
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # e.g. `__in=[]`: Django answers those without asking the database
        return []
    with _cursor() as cursor:
        cursor.adapters.register_loader("timestamptz", TimestamptzBinaryLoader)
        cursor.adapters.register_loader("jsonb", JsonbBinaryLoader)
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()
