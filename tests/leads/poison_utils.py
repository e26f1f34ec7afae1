"""Poison batches for tests: stored the way an older version let them in, so the worker cannot process them."""

from django.db import connection

from leads.models import Event
from tests.worker_utils import ingest


def identify_message(user_id: str) -> dict:
    return {"type": "identify", "userId": user_id, "traits": {"email": f"{user_id}@acme.com"}}


def poison_batch(source, user_id: str, **ingest_options) -> str:
    """A batch whose event time PostgreSQL holds but Python cannot read back: the year 10000.

    Ingestion now refuses such a time (9999-12-31T23:00-05:00), so it is
    written here as versions before that check stored it.
    """
    batch_id = ingest(source, [identify_message(user_id)], **ingest_options)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Event._meta.db_table} SET timestamp = '9999-12-31T23:00:00-05:00' WHERE batch_id = %s",  # noqa: S608
            [batch_id],
        )
    return batch_id


def batch_repair(batch_id: str) -> None:
    """The fix an admin would make before replaying: a time that can be read."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Event._meta.db_table} SET timestamp = received_at WHERE batch_id = %s",  # noqa: S608
            [batch_id],
        )
