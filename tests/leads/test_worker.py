"""A real Celery worker process consuming from Redis, and one killed with SIGKILL mid-batch."""

import os
import re
import signal
from collections import Counter

import psycopg
import pytest
from django.db import connection

from leads.models import BatchAttempt, DeadLetter, Event, Identity, Lead
from leads.services.dead_letters import MAX_WORKER_DEATHS, dead_letters_replay
from leads.services.identity import events_process_batch
from leads.tasks import events_sweep_unprocessed_task
from tests.leads.poison_utils import history_locked, identify_message
from tests.worker_utils import (
    celery_worker,
    database_url_of_test_run,
    ingest,
    pool_process_of,
    tasks_routed_to_own_queue,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker, pytest.mark.slow]


@pytest.fixture
def source(source_with_key):
    return source_with_key[0]


@pytest.fixture
def queue():
    with tasks_routed_to_own_queue() as name:
        yield name


def unprocessed(batch_id: str) -> int:
    return Event.objects.filter(batch_id=batch_id, processed_at__isnull=True).count()


def backends_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_processes_what_ingestion_enqueues(source, queue):
    # given
    messages = [
        {"type": "page", "anonymousId": "a-1", "name": "Pricing"},
        {"type": "identify", "anonymousId": "a-1", "userId": "u-1", "traits": {"email": "ann@acme.com"}},
        {"type": "track", "userId": "u-1", "event": "Trial Started"},
    ]

    with celery_worker(queue=queue) as worker:
        # when: ingestion commits, then publishes one task for the batch
        batch_id = ingest(source, messages)

        # then
        wait_until(lambda: unprocessed(batch_id) == 0, timeout=20, message="the worker to process the batch")
        assert "events_process_task" in worker.log
    lead = Lead.objects.get()
    assert Event.objects.filter(lead=lead).count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing(source, queue, settings):
    # given: an earlier anonymous visit, already processed and unmatched
    old_batch = ingest(source, [{"type": "page", "anonymousId": "anon-k", "name": "Pricing"}])
    events_process_batch(batch_id=old_batch)
    old_event = Event.objects.get(batch_id=old_batch)
    # and a large batch in which that visitor identifies, among 60 other people
    messages = [{"type": "identify", "anonymousId": "anon-k", "userId": "u-k", "traits": {"email": "kim@acme.com"}}]
    for i in range(60):
        messages.append({"type": "identify", "userId": f"u-{i}", "traits": {"email": f"p{i}@corp{i % 7}.com"}})
        messages += [
            {"type": "track", "userId": f"u-{i}", "event": "Job Run", "messageId": f"m-{i}-{n}"} for n in range(4)
        ]

    # The test holds a lock on the old event: the worker, attaching history
    # after it has written leads and identities, blocks inside its transaction.
    with psycopg.connect(database_url_of_test_run()) as lock_holder:
        lock_holder.execute("SELECT id FROM leads_event WHERE id = %s FOR UPDATE", [old_event.id])
        with celery_worker(queue=queue) as worker:
            batch_id = ingest(source, messages)
            wait_until(lambda: backends_waiting_on_a_lock() > 0, timeout=20, message="the worker to block mid-batch")

            # when
            worker.kill()

        # then: nothing of the half-done work is visible
        assert unprocessed(batch_id) == len(messages)
        assert not Lead.objects.filter(email="kim@acme.com").exists()
        lock_holder.rollback()

    # and once the sweeper runs, a new worker processes everything exactly once
    settings.INGEST_SWEEP_AFTER_SECONDS = 0
    with celery_worker(queue=queue):

        def swept_and_processed() -> bool:
            # The killed worker's database session may hold its locks a moment
            # longer (SKIP LOCKED then finds nothing): sweep until done.
            events_sweep_unprocessed_task()
            return wait_for_processing(batch_id)

        wait_until(swept_and_processed, timeout=30, interval=0.2, message="the sweeper to recover the batch")

    assert Event.objects.filter(batch_id=batch_id).values("processed_at").distinct().count() == 1
    assert Lead.objects.count() == 61
    kim = Lead.objects.get(email="kim@acme.com")
    assert set(kim.identities.values_list("value", flat=True)) == {"anon-k", "u-k", "kim@acme.com"}
    assert Identity.objects.count() == 3 + 60 * 2
    old_event.refresh_from_db()
    assert old_event.lead == kim
    assert Event.objects.filter(batch_id=batch_id, lead__isnull=True).count() == 0


def wait_for_processing(batch_id: str) -> bool:
    try:
        wait_until(lambda: unprocessed(batch_id) == 0, timeout=2, message="processing")
    except AssertionError:
        return False
    return True


def worker_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_connection_between_batches_and_reconnects_when_it_is_cut(source, queue):
    # Other tests' workers close their connection after every task (DB_CONN_MAX_AGE=0); this one runs as deployed.
    with celery_worker(queue=queue, env={"DB_CONN_MAX_AGE": "60"}) as worker:
        # given: a batch processed, and the worker's connection still open after it
        first = ingest(source, [{"type": "identify", "userId": "u-1", "traits": {"email": "ann@acme.com"}}])
        wait_until(lambda: unprocessed(first) == 0, timeout=20, message="the worker to process the first batch")
        kept = worker_backends()
        assert kept, "the worker closed its database connection after the task"

        # when: the connection is cut, as a database restart or failover would
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [kept])
        second = ingest(source, [{"type": "identify", "userId": "u-2", "traits": {"email": "bo@acme.com"}}])

        # then: the next batch is processed on a new connection, without a failed attempt
        wait_until(lambda: unprocessed(second) == 0, timeout=20, message="the worker to process the second batch")
        assert "Retry" not in worker.log and "OperationalError" not in worker.log
    assert Lead.objects.count() == 2


def pool_process_die(pid: int) -> None:
    """Kill a pool process blocked in the database mid-batch, as the out-of-memory killer would.

    PostgreSQL ends a dead client's session only once it next talks to it, and
    this one is waiting for a lock: its session is ended here, with the process
    stopped first, so that the process never sees it and its locks are gone
    before the redelivered task looks for the batch's events.
    """
    os.kill(pid, signal.SIGSTOP)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    os.kill(pid, signal.SIGKILL)


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_kills_its_worker_is_set_aside_while_other_batches_flow_and_replayed_once_fixed(
    source, queue, admin_user_qualify
):
    # given: a batch that blocks mid-batch, every time it is processed
    identify = {"type": "identify", "anonymousId": "anon-k", "userId": "u-k", "traits": {"email": "kim@acme.com"}}
    # Prefork, as deployed: the parent requeues the task of a pool process that dies, at once.
    with (
        history_locked(source, "anon-k") as lock_holder,
        celery_worker(queue=queue, pool="prefork", concurrency=2) as worker,
    ):
        killer = ingest(source, [identify])
        killed = []
        for death in range(MAX_WORKER_DEATHS):
            pid = wait_until(
                lambda: backends_waiting_on_a_lock() and pool_process_of(killer, besides=killed),
                timeout=30,
                message="a delivery of the batch to block mid-batch",
            )
            # its start was committed before processing
            assert BatchAttempt.objects.get(batch_id=killer).start_count == death + 1
            # and meanwhile other batches flow (other people: the same domain would wait for the account)
            other = ingest(source, [identify_message(f"other-{death}", domain=f"globex{death}.com")])
            wait_until(lambda other=other: unprocessed(other) == 0, timeout=20, message="another batch")

            # when
            pool_process_die(pid)
            killed.append(pid)

        # then: the next delivery sets it aside instead of processing it
        letter = wait_until(
            lambda: DeadLetter.objects.filter(batch_id=killer).first(), timeout=30, message="it to be set aside"
        )
        assert f"The worker processing it died {MAX_WORKER_DEATHS} times" in letter.error
        assert unprocessed(killer) == 1
        assert worker.log.count("exited with 'signal 9 (SIGKILL)'") == MAX_WORKER_DEATHS
        deliveries = Counter(re.findall(r"events_process_task\[([0-9a-f-]+)\] received", worker.log))
        assert max(deliveries.values()) == MAX_WORKER_DEATHS + 1

        # and when the cause is gone, an admin's replay processes it
        lock_holder.rollback()
        dead_letters_replay(dead_letter_ids=[letter.id], actor=admin_user_qualify)
        wait_until(lambda: unprocessed(killer) == 0, timeout=20, message="the replayed batch")

    kim = Lead.objects.get(email="kim@acme.com")
    assert Event.objects.get(anonymous_id="anon-k", type="page").lead == kim
    assert Lead.objects.filter(email__startswith="other-").count() == MAX_WORKER_DEATHS
    letter.refresh_from_db()
    assert (letter.is_set_aside, letter.failure_count) == (False, 1)
