"""Poison batches for tests: stored the way an older version let them in, so the worker cannot process them;
and batches whose processing blocks until the test lets it go."""

import contextlib

import psycopg
from django.db import connection

from leads.models import Event
from leads.services.identity import events_process_batch
from tests.worker_utils import database_url_of_test_run, ingest


def identify_message(user_id: str, *, domain: str = "acme.com") -> dict:
    return {"type": "identify", "userId": user_id, "traits": {"email": f"{user_id}@{domain}"}}


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


@contextlib.contextmanager
def history_locked(source, anonymous_id: str):
    """An anonymous visit, processed, whose row another session locks; yields that session.

    A batch in which the visitor identifies blocks mid-batch (attaching the
    visit to the lead) until the session lets go. The visit must be committed
    for that session to see it: tests using this use `transaction=True`.
    """
    batch_id = ingest(source, [{"type": "page", "anonymousId": anonymous_id, "name": "Pricing"}])
    events_process_batch(batch_id=batch_id)
    with psycopg.connect(database_url_of_test_run()) as lock_holder:
        lock_holder.execute(
            f"SELECT id FROM {Event._meta.db_table} WHERE batch_id = %s FOR UPDATE",  # noqa: S608
            [batch_id],
        )
        yield lock_holder
