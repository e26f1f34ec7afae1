"""Workers resolving the same people at the same time: one lead each, every event on it."""

import contextlib
import random
import threading
import time

import psycopg
import pytest
from django.db import connection
from django.db.models import Q

from leads.models import Account, Event, Identity, Lead
from leads.services.identity import events_process_batch
from tests.worker_utils import celery_worker, database_url_of_test_run, ingest, tasks_routed_to_own_queue, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def backends_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def process_in_thread(batch_id: str, results: dict) -> threading.Thread:
    def run():
        from django.db import connection as thread_connection

        try:
            results[batch_id] = events_process_batch(batch_id=batch_id)
        finally:
            thread_connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_two_workers_creating_the_same_lead_at_once_end_with_one(source_with_key, caplog):
    # given: an account both batches update, and a new person in both
    source, _ = source_with_key
    Account.objects.create(name="Acme", domain="acme.com", group_id="g-1")
    with tasks_routed_to_own_queue():  # stored, but left unprocessed for this test to drive
        batches = [
            ingest(
                source,
                [
                    {"type": "identify", "userId": "u-1", "traits": {"email": "ann@acme.com"}, "messageId": f"i-{n}"},
                    {"type": "group", "userId": "u-1", "groupId": "g-1", "traits": {"seats": n}, "messageId": f"g-{n}"},
                ],
            )
            for n in (1, 2)
        ]
    results: dict[str, int] = {}

    # when: both workers have read (no lead yet) and wait on the account row
    with psycopg.connect(database_url_of_test_run()) as lock_holder:
        lock_holder.execute("SELECT id FROM leads_account WHERE group_id = 'g-1' FOR UPDATE")
        threads = [process_in_thread(batch_id, results) for batch_id in batches]
        wait_until(lambda: backends_waiting_on_a_lock() >= 2, timeout=10, message="both workers to wait")
        lock_holder.rollback()
    for thread in threads:
        thread.join(timeout=20)

    # then: the second one waited for the first (same ids: same key locks) and linked to its lead,
    # with no conflicting insert to retry
    assert sorted(results.values()) == [2, 2]
    assert "concurrent identity write, retrying" not in caplog.text
    lead = Lead.objects.get()
    assert Event.objects.filter(lead=lead).count() == 4
    assert Identity.objects.filter(lead=lead).count() == 2
    assert lead.account.group_id == "g-1"


@pytest.mark.parametrize(
    ("stalled", "stall_sql"),
    [
        # The identify stalls after linking u-1, attaching the old visit (locked here).
        ("identify", "SELECT id FROM leads_event WHERE type = 'page' FOR UPDATE"),
        # The product batch stalls after resolving (nobody known yet), updating the account (locked here).
        ("product", "SELECT id FROM leads_account WHERE group_id = 'g-1' FOR UPDATE"),
    ],
    ids=["identify-stalls", "product-events-stall"],
)
def test_events_processed_while_another_worker_identifies_their_user_reach_the_lead(
    source_with_key, stalled, stall_sql
):
    # given: an earlier anonymous visit, processed and unmatched; the company; then two batches
    # stored before either is processed: the visitor identifying as u-1, and u-1's product events
    source, _ = source_with_key
    Account.objects.create(name="Acme", group_id="g-1")
    with tasks_routed_to_own_queue():
        events_process_batch(batch_id=ingest(source, [{"type": "page", "anonymousId": "a-1", "name": "Pricing"}]))
        identify_batch = ingest(
            source,
            [{"type": "identify", "anonymousId": "a-1", "userId": "u-1", "traits": {"email": "ann@acme.com"}}],
        )
        product_batch = ingest(
            source,
            [
                {"type": "track", "userId": "u-1", "event": "Job Run"},
                {"type": "group", "userId": "u-1", "groupId": "g-1", "traits": {"seats": 5}},
            ],
        )
    first, second = (identify_batch, product_batch) if stalled == "identify" else (product_batch, identify_batch)
    results: dict[str, int] = {}

    # when: the first worker stops inside its transaction, the second runs meanwhile
    with psycopg.connect(database_url_of_test_run()) as lock_holder:
        lock_holder.execute(stall_sql)
        threads = [process_in_thread(first, results)]
        wait_until(lambda: backends_waiting_on_a_lock() >= 1, timeout=10, message="the first worker to stall")
        threads.append(process_in_thread(second, results))
        wait_until(
            lambda: second in results or backends_waiting_on_a_lock() >= 2,
            timeout=10,
            message="the second worker to finish or wait",
        )
        lock_holder.rollback()
    for thread in threads:
        thread.join(timeout=20)

    # then: every event has the one lead, and the group call gave it its account
    assert results == {identify_batch: 1, product_batch: 2}
    lead = Lead.objects.get()
    assert Event.objects.filter(lead__isnull=True).count() == 0
    assert Event.objects.filter(lead=lead).count() == 4
    assert lead.account.group_id == "g-1"


WORKERS = 3
CLIENTS = 4
PEOPLE_PER_CLIENT = 25


def send_people(source, client: int) -> None:
    """A client's stream: per person, a visit, the identify, product events right behind it
    (processed by another worker while the identify is), then the group call 50 to 300 ms later."""
    from django.db import connection as thread_connection

    pace = random.Random(client)
    try:
        for number in range(PEOPLE_PER_CLIENT):
            user, anonymous = f"u-{client}-{number}", f"a-{client}-{number}"
            ingest(source, [{"type": "page", "anonymousId": anonymous, "name": "Pricing"}])
            ingest(
                source,
                [
                    {
                        "type": "identify",
                        "userId": user,
                        "anonymousId": anonymous,
                        "traits": {"email": f"{user}@gmail.com"},
                    }
                ],
            )
            time.sleep(pace.uniform(0, 0.02))
            ingest(source, [{"type": "track", "userId": user, "event": "Job Run", "context": {"groupId": "g-1"}}])
            time.sleep(pace.uniform(0.05, 0.3))
            ingest(source, [{"type": "group", "userId": user, "groupId": "g-1", "traits": {"name": "Acme"}}])
    finally:
        thread_connection.close()


def unattached_events_of_known_ids() -> int:
    known_users = Identity.objects.filter(kind="user_id").values("value")
    known_anonymous = Identity.objects.filter(kind="anonymous_id").values("value")
    return (
        Event.objects.filter(lead__isnull=True)
        .filter(Q(user_id__in=known_users) | Q(anonymous_id__in=known_anonymous))
        .count()
    )


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.slow
def test_worker_processes_racing_on_the_same_people_leave_no_event_of_a_known_id_unattached(source_with_key):
    # given: three worker processes consuming the same queue
    source, _ = source_with_key
    people = CLIENTS * PEOPLE_PER_CLIENT
    with tasks_routed_to_own_queue() as queue, contextlib.ExitStack() as workers:
        for _ in range(WORKERS):
            workers.enter_context(celery_worker(queue=queue))

        # when: four clients send their people's events at once, each batch a task
        clients = [threading.Thread(target=send_people, args=(source, client)) for client in range(CLIENTS)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=120)
        wait_until(
            lambda: not Event.objects.filter(processed_at__isnull=True).exists(),
            timeout=120,
            message="the workers to process every batch",
        )

    # then: one lead per person, every event on it, and the group call's account
    assert Event.objects.count() == people * 4
    assert unattached_events_of_known_ids() == 0
    assert Event.objects.filter(lead__isnull=True).count() == 0
    assert Lead.objects.count() == people
    assert Lead.objects.filter(account__group_id="g-1").count() == people
