"""Poison batches are set aside with their error instead of failing forever, and replayed by an admin after a fix."""

import threading

import psycopg
import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from leads.models import BatchAttempt, DeadLetter, Event, Lead
from leads.services.dead_letters import (
    MAX_WORKER_DEATHS,
    batch_attempt_start,
    batch_process_or_set_aside,
    dead_letter_record,
    dead_letters_replay,
    is_transient_error,
)
from pipeline.tasks import events_process_task
from tests.leads.poison_utils import batch_repair, history_locked, identify_message, poison_batch
from tests.worker_utils import database_url_of_test_run, ingest, tasks_routed_to_own_queue, wait_until

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


def start_count(batch_id: str) -> int:
    return BatchAttempt.objects.get(batch_id=batch_id).start_count


@pytest.mark.parametrize(
    ("deaths", "is_set_aside"), [(0, False), (MAX_WORKER_DEATHS - 1, False), (MAX_WORKER_DEATHS, True)]
)
def test_a_batch_whose_worker_died_the_maximum_number_of_times_is_set_aside_unstarted(source, deaths, is_set_aside):
    # given: earlier deliveries started it, and their worker died (nothing ended their start)
    batch_id = ingest(source, [identify_message("kim")])
    for _ in range(deaths):
        batch_attempt_start(batch_id=batch_id)

    # when: the broker delivers it once more
    processed = events_process_task.delay(batch_id).get()

    # then
    assert DeadLetter.objects.exists() is is_set_aside
    assert Lead.objects.filter(email="kim@acme.com").exists() is not is_set_aside
    assert processed == (0 if is_set_aside else 1)
    if is_set_aside:
        letter = DeadLetter.objects.get()
        assert (str(letter.batch_id), letter.source, letter.event_count) == (batch_id, source, 1)
        assert f"The worker processing it died {MAX_WORKER_DEATHS} times" in letter.error


def test_a_start_is_counted_before_processing_and_a_batch_processed_and_redelivered_again_and_again_is_never_set_aside(
    source,
):
    # given
    batch_id = ingest(source, [identify_message("kim")])
    events_process_task.delay(batch_id).get()
    assert start_count(batch_id) == 1

    # when: the broker delivers it again, many times (acks_late: a worker lost after processing)
    for _ in range(MAX_WORKER_DEATHS * 3):
        events_process_task.delay(batch_id).get()

    # then: each found nothing left and ended its start
    assert start_count(batch_id) == 1
    assert not DeadLetter.objects.exists()


def test_a_batch_set_aside_for_its_error_again_and_again_is_never_taken_for_a_worker_killer(source):
    # given
    batch_id = poison_batch(source, "poison-1")

    # when
    for _ in range(MAX_WORKER_DEATHS + 2):
        events_process_task.delay(batch_id).get()

    # then
    letter = DeadLetter.objects.get()
    assert "year 10K" in letter.error
    assert letter.failure_count == MAX_WORKER_DEATHS + 2
    assert start_count(batch_id) == 0


@pytest.fixture
def brief_lock_waits():
    """This session gives up waiting for a lock after 100 ms (a transient error), for the test only."""
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '100ms'")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET lock_timeout")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_start_that_ends_in_a_transient_error_is_no_worker_death(source, brief_lock_waits):
    # given: a batch attaching a visit that another session locks, and this
    # session waits for locks only briefly: each try fails transiently
    with history_locked(source, "anon-k") as lock_holder:
        with tasks_routed_to_own_queue():  # its task left to this test
            batch_id = ingest(source, [{"type": "identify", "anonymousId": "anon-k", "userId": "u-k"}])

        # when: retried more often than a killer batch may die
        for _ in range(MAX_WORKER_DEATHS + 1):
            with pytest.raises(Exception) as raised:
                batch_process_or_set_aside(batch_id=batch_id)
            assert is_transient_error(raised.value)
        lock_holder.rollback()

    # then: each try ended its start, and the next one processes the batch
    assert start_count(batch_id) == 0
    assert batch_process_or_set_aside(batch_id=batch_id) == 1
    assert not DeadLetter.objects.exists()


def _sessions_waiting_on_a_lock_terminated() -> None:
    """From a session of its own: wait for a session to block on a lock, then end it, as a database restart would."""
    with psycopg.connect(database_url_of_test_run(), autocommit=True) as own:
        wait_until(
            lambda: own.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()[0],
            timeout=20,
            message="a session blocked on a lock",
        )


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_mid_batch_raises_its_own_error_for_the_task_to_retry_and_is_no_worker_death(source):
    # given: a batch that blocks mid-batch, and its session ended meanwhile
    with history_locked(source, "anon-k"):
        with tasks_routed_to_own_queue():  # its task left to this test
            batch_id = ingest(source, [{"type": "identify", "anonymousId": "anon-k", "userId": "u-k"}])
        terminator = threading.Thread(target=_sessions_waiting_on_a_lock_terminated)
        terminator.start()

        # when
        with pytest.raises(Exception) as raised:
            batch_process_or_set_aside(batch_id=batch_id)
        terminator.join()
    connection.close()

    # then: the lost connection's error (the start ended on a new connection)
    assert is_transient_error(raised.value), raised.value
    assert "terminat" in str(raised.value)
    assert start_count(batch_id) == 0
    assert not DeadLetter.objects.exists()


def test_an_admin_replay_gives_a_batch_set_aside_for_worker_deaths_a_fresh_start(
    source, admin_user_qualify, django_capture_on_commit_callbacks
):
    # given
    batch_id = ingest(source, [identify_message("kim")])
    for _ in range(MAX_WORKER_DEATHS):
        batch_attempt_start(batch_id=batch_id)
    events_process_task.delay(batch_id).get()

    # when: the cause fixed (more memory, say), replayed
    with django_capture_on_commit_callbacks(execute=True):
        dead_letters_replay(dead_letter_ids=[DeadLetter.objects.get().id], actor=admin_user_qualify)

    # then
    assert Lead.objects.filter(email="kim@acme.com").exists()
    assert not DeadLetter.objects.get().is_set_aside
    assert start_count(batch_id) == 1
