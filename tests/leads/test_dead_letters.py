"""Poison batches are set aside with their error instead of failing forever, and replayed by an admin after a fix."""

import psycopg
import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from leads.models import DeadLetter, Event, Lead
from leads.services.dead_letters import dead_letter_record, dead_letters_replay, is_transient_error
from leads.tasks import events_process_task
from tests.leads.poison_utils import batch_repair, identify_message, poison_batch
from tests.worker_utils import ingest

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def source(source_with_key):
    return source_with_key[0]


def test_a_batch_the_worker_cannot_process_is_set_aside_with_its_error(source):
    # given
    batch_id = poison_batch(source, "poison-1")

    # when
    processed = events_process_task.delay(batch_id).get()

    # then: kept, unprocessed, with the error and where it was raised
    assert processed == 0
    letter = DeadLetter.objects.get()
    assert str(letter.batch_id) == batch_id
    assert (letter.source, letter.event_count, letter.failure_count, letter.is_set_aside) == (source, 1, 1, True)
    assert "DataError" in letter.error
    assert "year 10K" in letter.error
    assert "Traceback" in letter.traceback
    assert Event.objects.filter(batch_id=batch_id, processed_at__isnull=True).count() == 1


def test_a_batch_set_aside_twice_is_one_dead_letter_counting_two_failures(source):
    # given
    batch_id = poison_batch(source, "poison-1")
    events_process_task.delay(batch_id).get()

    # when: the broker delivers the task again
    events_process_task.delay(batch_id).get()

    # then
    letter = DeadLetter.objects.get()
    assert (letter.failure_count, letter.is_set_aside) == (2, True)


def test_a_batch_with_nothing_left_unprocessed_is_not_set_aside(source):
    # given
    batch_id = ingest(source, [identify_message("fine-1")])
    events_process_task.delay(batch_id).get()

    # when
    letter = dead_letter_record(batch_id=batch_id, error="RuntimeError: too late")

    # then
    assert letter is None
    assert not DeadLetter.objects.exists()


def _real_error(sql: str) -> Exception:
    """The error PostgreSQL really raises for `sql`, on a connection of its own."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432, user=settings["USER"], dbname="postgres"
    ) as own:
        try:
            own.execute(sql).fetchall()
        except psycopg.Error as error:
            return error
    raise AssertionError(f"{sql} did not fail")


@pytest.mark.parametrize(
    ("sql", "is_transient"),
    [
        ("SET statement_timeout = 1; SELECT pg_sleep(1)", True),  # statement timeout
        ("SELECT pg_terminate_backend(pg_backend_pid())", True),  # connection lost
        ("SELECT '9999-12-31T23:00:00-05:00'::timestamptz", False),  # a time Python cannot read
        ("SELECT 1 / 0", False),
    ],
)
def test_only_errors_that_retrying_can_fix_are_transient(sql, is_transient):
    assert is_transient_error(_real_error(sql)) is is_transient


def test_an_admin_replays_a_set_aside_batch_once_after_a_fix(source, admin_user_qualify):
    # given: set aside, then the data fixed
    batch_id = poison_batch(source, "poison-1")
    events_process_task.delay(batch_id).get()
    letter = DeadLetter.objects.get()
    batch_repair(batch_id)

    # when: replayed twice (a double click)
    first = dead_letters_replay(dead_letter_ids=[letter.id], actor=admin_user_qualify)
    second = dead_letters_replay(dead_letter_ids=[letter.id], actor=admin_user_qualify)

    # then
    assert (first, second) == (1, 0)
    letter.refresh_from_db()
    assert (letter.is_set_aside, letter.replayed_by) == (False, admin_user_qualify)
    assert letter.replayed_at is not None


def test_a_replayed_batch_that_still_fails_is_set_aside_again(
    source, admin_user_qualify, django_capture_on_commit_callbacks
):
    # given: set aside, not fixed
    batch_id = poison_batch(source, "poison-1")
    events_process_task.delay(batch_id).get()
    letter = DeadLetter.objects.get()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        dead_letters_replay(dead_letter_ids=[letter.id], actor=admin_user_qualify)

    # then
    letter.refresh_from_db()
    assert (letter.is_set_aside, letter.failure_count) == (True, 2)


def test_a_replayed_batch_is_processed_once_its_task_runs(
    source, admin_user_qualify, django_capture_on_commit_callbacks
):
    # given
    batch_id = poison_batch(source, "poison-1")
    events_process_task.delay(batch_id).get()
    batch_repair(batch_id)

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        dead_letters_replay(dead_letter_ids=[DeadLetter.objects.get().id], actor=admin_user_qualify)

    # then
    assert len(callbacks) == 1
    assert not Event.objects.filter(batch_id=batch_id, processed_at__isnull=True).exists()
    assert Lead.objects.filter(email="poison-1@acme.com").exists()
    assert not DeadLetter.objects.get().is_set_aside


@pytest.mark.parametrize("persona", ["alice", "charlie", "olivia"])
def test_only_admins_replay_set_aside_batches(source, request, persona, django_capture_on_commit_callbacks):
    # given
    user = request.getfixturevalue(persona)
    batch_id = poison_batch(source, "poison-1")
    events_process_task.delay(batch_id).get()

    # when
    with pytest.raises(PermissionDenied), django_capture_on_commit_callbacks() as callbacks:
        dead_letters_replay(dead_letter_ids=[DeadLetter.objects.get().id], actor=user)

    # then
    assert callbacks == []
    letter = DeadLetter.objects.get()
    assert (letter.is_set_aside, letter.replayed_at) == (True, None)
