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
from psycopg.types.datetime import TimestamptzBinaryLoader, TimestamptzLoader
from psycopg.types.json import JsonbBinaryLoader


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def server_cursor() -> psycopg.Cursor:
    """A server-side binding cursor on Django's connection (same transaction).

    Django's default psycopg cursor binds on the client, turning every
    500-element array into SQL text in Python; this one sends them as
    parameters, and lets psycopg prepare the repeated statements. Timestamps
    load with psycopg's own C loader instead of Django's Python subclass, which
    only pins the time zone the session already has (Django sets it to UTC).
    """
    connection.ensure_connection()
    cursor = psycopg.Cursor(connection.connection)
    cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
    return cursor


def unnest_update(model, objects: list, field_names: list[str]) -> None:
    """Django's bulk_update, in one `UPDATE ... FROM unnest(...)` on PostgreSQL.

    Django's bulk_update builds a CASE WHEN per row and field, which costs
    more Python time than the rest of a processed batch put together.
    """
    if not is_postgresql():
        model.objects.bulk_update(objects, field_names)
        return
    fields = [model._meta.get_field(name) for name in field_names]
    pk = model._meta.pk
    arrays = [[obj.pk for obj in objects]]
    casts = [f"%s::{pk.rel_db_type(connection)}[]"]
    for model_field in fields:
        values = [getattr(obj, model_field.attname) for obj in objects]
        if model_field.get_internal_type() == "JSONField":
            values = [None if value is None else json.dumps(value, cls=model_field.encoder) for value in values]
        arrays.append(values)
        casts.append(f"%s::{model_field.db_type(connection)}[]")
    columns = [connection.ops.quote_name(model_field.column) for model_field in fields]
    assignments = ", ".join(f"{column} = v.{column}" for column in columns)
    aliases = ", ".join(["_pk", *columns])
    with server_cursor() as cursor:
        cursor.execute(
            f"UPDATE {model._meta.db_table} AS t SET {assignments} "  # noqa: S608 - identifiers from the model
            f"FROM unnest({', '.join(casts)}) AS v({aliases}) "
            f"WHERE t.{pk.column} = v._pk AND t.{pk.column} = ANY({casts[0]})",
            [*arrays, arrays[0]],
        )


def bulk_insert(model, names: Sequence[str], rows: list[tuple], *, upsert_on: str | None = None) -> None:
    """Django's bulk_create for rows given as tuples of field values (`names`: attnames, in the
    rows' order), optionally replacing the row that has the same `upsert_on` value.

    On PostgreSQL, one `INSERT ... SELECT FROM unnest(arrays)` with the arrays sent in binary
    (column types from the model's fields): Django renders every value, JSON included, into SQL
    text in Python, which cost more than scoring a lead does. Elsewhere, bulk_create itself.
    """
    if not rows:
        return
    fields = [model._meta.get_field(name) for name in names]
    if not is_postgresql():
        options = {}
        if upsert_on:
            unique = model._meta.get_field(upsert_on)
            options = {
                "update_conflicts": True,
                "unique_fields": [unique.name],
                "update_fields": [field.name for field in fields if field is not unique],
            }
        model.objects.bulk_create(
            [model(**dict(zip(names, row, strict=True))) for row in rows], batch_size=500, **options
        )
        return
    json_fields = {index: field for index, field in enumerate(fields) if field.get_internal_type() == "JSONField"}
    arrays = [
        [json.dumps(value, cls=json_fields[index].encoder) for value in values]
        if index in json_fields
        else list(values)
        for index, values in enumerate(zip(*rows, strict=True))
    ]
    columns = [connection.ops.quote_name(field.column) for field in fields]
    casts = ", ".join(
        "%b::text[]" if index in json_fields else f"%b::{field.db_type(connection)}[]"
        for index, field in enumerate(fields)
    )
    selects = ", ".join(
        f"v.{column}::jsonb" if index in json_fields else f"v.{column}" for index, column in enumerate(columns)
    )
    conflict = ""
    if upsert_on:
        unique = connection.ops.quote_name(model._meta.get_field(upsert_on).column)
        updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in columns if column != unique)
        conflict = f"ON CONFLICT ({unique}) DO UPDATE SET {updates}"
    with server_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608 - identifiers from the model
            f"SELECT {selects} FROM unnest({casts}) AS v({', '.join(columns)}) {conflict}",
            arrays,
        )


def fetch_value(sql: str, params: Sequence) -> object:
    """The first column of the first row of one statement, bound on the server (PostgreSQL only)."""
    with server_cursor() as cursor:
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
    with server_cursor() as cursor:
        cursor.adapters.register_loader("timestamptz", TimestamptzBinaryLoader)
        cursor.adapters.register_loader("jsonb", JsonbBinaryLoader)
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()
