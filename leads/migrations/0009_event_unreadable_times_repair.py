"""Repair event times stored before ingestion checked them (issue: poison input).

Earlier versions accepted times PostgreSQL holds but Python cannot read back
(the year 10000 after a UTC offset, or before year 1): every read of such a row
failed (the worker's batch, /api/events/), so its batch could never be
processed. Ingestion now refuses them at the door; this moves the ones already
stored out of the way without losing them: the unreadable value is kept, as
text, under `extra.unreadable_times`, an unreadable `timestamp` becomes the
time the server received the event, and an unreadable `originalTimestamp` or
`sentAt` becomes null. The batches can then be processed (or replayed from the
dead letters). The bounds are ingestion's (leads.ingest.messages), frozen here.

SQLite (the embedded demo) starts from a fresh database, so only PostgreSQL
can hold such rows.
"""

from django.db import migrations

EARLIEST, LATEST = "0001-01-02T00:00:00+00:00", "9999-12-31T00:00:00+00:00"

REPAIR = f"""
UPDATE leads_event SET
    extra = extra || jsonb_build_object('unreadable_times', jsonb_strip_nulls(jsonb_build_object(
        'timestamp', CASE WHEN {{bad_timestamp}} THEN timestamp::text END,
        'originalTimestamp', CASE WHEN {{bad_original}} THEN original_timestamp::text END,
        'sentAt', CASE WHEN {{bad_sent}} THEN sent_at::text END
    ))),
    timestamp = CASE WHEN {{bad_timestamp}} THEN received_at ELSE timestamp END,
    original_timestamp = CASE WHEN {{bad_original}} THEN NULL ELSE original_timestamp END,
    sent_at = CASE WHEN {{bad_sent}} THEN NULL ELSE sent_at END
WHERE {{bad_timestamp}} OR {{bad_original}} OR {{bad_sent}}
"""


def _bad(column: str) -> str:
    return f"({column} < '{EARLIEST}' OR {column} >= '{LATEST}')"


def repair_unreadable_times(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        REPAIR.format(
            bad_timestamp=_bad("timestamp"), bad_original=_bad("original_timestamp"), bad_sent=_bad("sent_at")
        )
    )


class Migration(migrations.Migration):
    dependencies = [("leads", "0008_batch_attempt")]

    operations = [migrations.RunPython(repair_unreadable_times, migrations.RunPython.noop, elidable=True)]
