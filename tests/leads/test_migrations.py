"""Schema changes to the event table never block ingestion while they run."""

from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import AddIndex, RemoveIndex

from qualify_site.migration_operations import AddIndexOnline, RemoveIndexOnline

# Migrations written before the event table could be big (and already applied everywhere).
BEFORE_ONLINE_INDEXES = {"0001_initial", "0004_event_fewer_indexes"}


def test_event_indexes_are_built_and_dropped_concurrently():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    offenders = []
    for (app_label, name), migration in loader.disk_migrations.items():
        if app_label != "leads" or name in BEFORE_ONLINE_INDEXES:
            continue
        for operation in migration.operations:
            is_index_change = isinstance(operation, AddIndex | RemoveIndex)
            if is_index_change and operation.model_name == "event":
                online = isinstance(operation, AddIndexOnline | RemoveIndexOnline)
                if not online or migration.atomic:
                    offenders.append(f"{name}: {operation.describe()}")
    assert not offenders, "use AddIndexOnline/RemoveIndexOnline in a non-atomic migration: " + "; ".join(offenders)
