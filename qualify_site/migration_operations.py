"""Schema operations that do not block writes on big tables in production.

The event table grows by millions of rows; a plain CREATE INDEX holds a lock that
blocks ingestion while it builds. These build and drop indexes CONCURRENTLY on
PostgreSQL and fall back to the plain operation elsewhere (the SQLite demo runs
the same migrations). A migration using them must set `atomic = False`. If a
concurrent build is interrupted, PostgreSQL leaves an INVALID index behind: drop
it and run the migration again.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db.migrations.operations import AddIndex, RemoveIndex


class _ConcurrentlyOnPostgreSQL:
    """Runs the concurrent operation (next in the MRO) on PostgreSQL, `plain` anywhere else."""

    plain: type

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return self.plain.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return self.plain.database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexOnline(_ConcurrentlyOnPostgreSQL, AddIndexConcurrently):
    plain = AddIndex


class RemoveIndexOnline(_ConcurrentlyOnPostgreSQL, RemoveIndexConcurrently):
    plain = RemoveIndex
