"""Workers keep their database connection between tasks, as web processes do between requests."""

import time

import pytest
from django.db import connection

from leads.tasks import events_sweep_unprocessed_task
from qualify_site.celery import database_connections_tidy

# PostgreSQL: Django never closes the in-memory SQLite test database's connection
# (closing it would drop the database), so max age is only observable on a server database.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _connect() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_a_healthy_connection_is_kept_for_the_next_task():
    # given
    _connect()
    opened = connection.connection

    # when
    database_connections_tidy(sender=events_sweep_unprocessed_task)

    # then
    assert connection.connection is opened


def test_a_connection_past_its_max_age_is_closed_between_tasks():
    # given
    _connect()
    connection.close_at = time.monotonic() - 1

    # when
    database_connections_tidy(sender=events_sweep_unprocessed_task)

    # then
    assert connection.connection is None


def test_an_eager_task_never_closes_its_callers_connection():
    # given: an eager task runs inside its caller's work, even when the connection is old
    _connect()
    opened = connection.connection
    connection.close_at = time.monotonic() - 1
    events_sweep_unprocessed_task.push_request(is_eager=True)
    try:
        # when
        database_connections_tidy(sender=events_sweep_unprocessed_task)
    finally:
        events_sweep_unprocessed_task.pop_request()

    # then
    assert connection.connection is opened
