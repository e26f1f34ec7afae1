"""The beat sweeper: events left unprocessed (task lost, worker killed, broker down) get processed.

Bounded: set-aside batches are skipped, each batch waits longer before each new
sweep and is set aside after MAX_SWEEPS, and batches never swept come first.
"""

from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from leads.models import BatchAttempt, DeadLetter, Event, Lead
from leads.selectors_identity import unprocessed_batch_id_list
from leads.services.dead_letters import MAX_SWEEPS, batch_attempt_start, unprocessed_batches_sweep
from leads.tasks import events_sweep_unprocessed_task
from pipeline.tasks import events_process_task
from qualify_site.celery import app as celery_app
from tests.broker_utils import redis_unreachable
from tests.leads.poison_utils import poison_batch
from tests.worker_utils import celery_worker, ingest, tasks_routed_to_own_queue, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def source(source_with_key):
    return source_with_key[0]


def identify_message(user_id: str) -> dict:
    return {"type": "identify", "userId": user_id, "traits": {"email": f"{user_id}@acme.com"}}


def test_the_sweeper_processes_a_batch_whose_task_was_lost(source, settings, django_capture_on_commit_callbacks):
    # given: stored ten minutes ago; its task never ran (this test's transaction
    # never commits, so ingestion's on_commit enqueue never fires)
    settings.INGEST_SWEEP_AFTER_SECONDS = 120
    ingest(source, [identify_message("lost-1")], received_at=timezone.now() - timedelta(minutes=10))
    assert Event.objects.filter(processed_at__isnull=True).count() == 1

    # when
    with django_capture_on_commit_callbacks(execute=True):
        swept = events_sweep_unprocessed_task()

    # then
    assert swept == 1
    assert Event.objects.filter(processed_at__isnull=True).count() == 0
    assert Event.objects.get().lead == Lead.objects.get(email="lost-1@acme.com")


def test_the_sweeper_leaves_recent_batches_to_their_own_task(source, settings, django_capture_on_commit_callbacks):
    # given
    settings.INGEST_SWEEP_AFTER_SECONDS = 120
    ingest(source, [identify_message("fresh-1")], received_at=timezone.now() - timedelta(seconds=30))

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        swept = events_sweep_unprocessed_task()

    # then
    assert swept == 0
    assert callbacks == []
    assert Event.objects.filter(processed_at__isnull=True).count() == 1


def test_the_sweeper_ignores_processed_batches(source, settings, django_capture_on_commit_callbacks):
    # given
    settings.INGEST_SWEEP_AFTER_SECONDS = 0
    ingest(source, [identify_message("done-1")], received_at=timezone.now() - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        events_sweep_unprocessed_task()

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        swept = events_sweep_unprocessed_task()

    # then
    assert swept == 0
    assert callbacks == []


def test_it_lists_each_unprocessed_batch_once_and_bounded(source):
    # given: three old batches of two events each
    old = timezone.now() - timedelta(minutes=10)
    batch_ids = {
        ingest(source, [identify_message(f"b{i}-1"), identify_message(f"b{i}-2")], received_at=old) for i in range(3)
    }

    # when
    everything = unprocessed_batch_id_list(older_than_seconds=60)
    bounded = unprocessed_batch_id_list(older_than_seconds=60, limit=2)

    # then
    assert sorted(everything) == sorted(batch_ids)
    assert len(bounded) == 2
    assert set(bounded) <= batch_ids


@pytest.fixture
def unconsumed_queue():
    """Tasks go to a Redis queue no worker reads: every task the sweeper publishes is lost."""
    with tasks_routed_to_own_queue() as name:
        yield name


def test_the_sweeper_skips_a_set_aside_batch(source, settings, django_capture_on_commit_callbacks):
    # given
    settings.INGEST_SWEEP_AFTER_SECONDS = 120
    batch_id = poison_batch(source, "poison-1", received_at=timezone.now() - timedelta(minutes=10))
    events_process_task.delay(batch_id).get()

    # when
    swept = events_sweep_unprocessed_task()

    # then
    assert swept == 0
    assert DeadLetter.objects.get().failure_count == 1


@pytest.mark.redis
def test_the_sweeper_waits_longer_before_each_new_sweep_of_the_same_batch(source, unconsumed_queue):
    # given
    start = timezone.now()
    ingest(source, [identify_message("lost-1")], received_at=start - timedelta(minutes=10))

    # when: a sweep every minute for an hour, each task lost
    swept_at = [
        minute
        for minute in range(60)
        if unprocessed_batches_sweep(older_than_seconds=120, now=start + timedelta(minutes=minute))
    ]

    # then: the waits double from the 2-minute threshold: 2, 4, 8, 16 minutes
    assert swept_at == [0, 2, 6, 14, 30]


@pytest.mark.redis
def test_a_batch_swept_the_maximum_number_of_times_is_set_aside_and_never_enqueued_again(source, unconsumed_queue):
    # given
    start = timezone.now()
    batch_id = ingest(source, [identify_message("lost-1")], received_at=start - timedelta(minutes=10))

    # when: sweeps two hours apart, each task lost
    swept = [
        unprocessed_batches_sweep(older_than_seconds=120, now=start + timedelta(hours=2 * sweep))
        for sweep in range(MAX_SWEEPS + 3)
    ]

    # then
    assert swept == [[batch_id]] * MAX_SWEEPS + [[], [], []]
    letter = DeadLetter.objects.get()
    assert str(letter.batch_id) == batch_id
    assert f"after {MAX_SWEEPS} sweeps" in letter.error


@pytest.mark.redis
def test_a_batch_never_swept_comes_before_an_older_one_swept_before(source, unconsumed_queue):
    # given: an old batch swept once and due again, then a batch lost later
    start = timezone.now()
    old = ingest(source, [identify_message("old-1")], received_at=start - timedelta(minutes=30))
    unprocessed_batches_sweep(older_than_seconds=120, now=start)
    new = ingest(source, [identify_message("new-1")], received_at=start - timedelta(minutes=10))

    # when
    first = unprocessed_batch_id_list(older_than_seconds=120, limit=1, now=start + timedelta(minutes=3))
    both = unprocessed_batch_id_list(older_than_seconds=120, limit=5, now=start + timedelta(minutes=3))

    # then
    assert first == [new]
    assert both == [new, old]


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_500_poison_batches_do_not_delay_the_recovery_of_real_lost_batches(source, settings):
    # given: the 500 oldest unprocessed batches are poison, three real ones were lost after them, and
    # every task is gone (the queue dropped, as when Redis loses its data)
    settings.INGEST_SWEEP_AFTER_SECONDS = 120
    now = timezone.now()
    with tasks_routed_to_own_queue() as queue:
        poison = [poison_batch(source, f"poison-{i}", received_at=now - timedelta(hours=1)) for i in range(500)]
        lost_at = now - timedelta(minutes=10)
        real = [ingest(source, [identify_message(f"real-{i}")], received_at=lost_at) for i in range(3)]
        redis.Redis.from_url(celery_app.conf.broker_url).delete(queue)

        with celery_worker(queue=queue):
            # when: one sweep
            swept = events_sweep_unprocessed_task()

            # then: that sweep alone recovers the real batches, and sets every poison one aside
            wait_until(
                lambda: not Event.objects.filter(batch_id__in=real, processed_at__isnull=True).exists(),
                timeout=300,
                message="the real batches to be processed",
            )
            wait_until(lambda: DeadLetter.objects.count() == len(poison), timeout=300, message="poison set aside")
        assert swept == len(poison) + len(real)
        assert Lead.objects.filter(email__startswith="real-").count() == 3
        assert sorted(str(batch_id) for batch_id in DeadLetter.objects.values_list("batch_id", flat=True)) == sorted(
            poison
        )
        # and the next sweep re-enqueues none of them
        assert events_sweep_unprocessed_task() == 0


def test_the_sweeper_drops_the_start_counts_of_batches_with_nothing_left_unprocessed(source):
    # given: a batch processed, and one whose worker died a moment ago
    done = ingest(source, [identify_message("done-1")])
    events_process_task.delay(done).get()
    died = ingest(source, [identify_message("died-1")])
    batch_attempt_start(batch_id=died)

    # when
    unprocessed_batches_sweep(older_than_seconds=120)

    # then: the death stays counted
    assert [str(batch_id) for batch_id in BatchAttempt.objects.values_list("batch_id", flat=True)] == [died]


def test_with_the_broker_down_a_sweep_stops_at_its_first_failed_publish_and_spends_no_sweep(source, caplog):
    # given: five lost batches, and Redis down (each failed publish costs its connection timeout)
    start = timezone.now()
    for number in range(5):
        ingest(source, [identify_message(f"lost-{number}")], received_at=start - timedelta(minutes=10))

    # when
    with redis_unreachable():
        enqueued = unprocessed_batches_sweep(older_than_seconds=120, now=start)

    # then: one attempt, not one per batch, and every batch is still due at the next sweep
    assert enqueued == []
    assert len([r for r in caplog.records if r.getMessage().startswith("Could not enqueue")]) == 1
    assert len(unprocessed_batch_id_list(older_than_seconds=120, limit=10, now=start)) == 5
