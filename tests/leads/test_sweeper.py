"""The beat sweeper: events left unprocessed (task lost, worker killed, broker down) get processed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Event, Lead
from leads.selectors_identity import unprocessed_batch_id_list
from leads.tasks import events_sweep_unprocessed_task
from tests.worker_utils import ingest

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
