"""The processing task: thin, idempotent, safe to redeliver."""

import psycopg
import pytest
from django.db import InterfaceError, OperationalError

from leads.models import Event, Lead
from pipeline.tasks import events_process_task
from tests.worker_utils import ingest

pytestmark = [pytest.mark.django_db]


def test_a_redelivered_task_does_nothing_the_second_time(source_with_key):
    # given
    source, _ = source_with_key
    batch_id = ingest(source, [{"type": "identify", "userId": "u-1", "traits": {"email": "ann@acme.com"}}])

    # when
    first = events_process_task.delay(batch_id).get()
    second = events_process_task.delay(batch_id).get()

    # then
    assert (first, second) == (1, 0)
    assert Lead.objects.count() == 1
    assert Event.objects.filter(processed_at__isnull=True).count() == 0


def test_a_task_for_an_unknown_batch_does_nothing():
    assert events_process_task.delay("00000000-0000-0000-0000-000000000000").get() == 0


def test_the_task_is_acknowledged_late_and_retries_only_transient_database_errors():
    assert events_process_task.acks_late is True
    assert events_process_task.reject_on_worker_lost is True
    # psycopg's own classes too: the bulk paths use psycopg cursors that Django does not wrap.
    assert set(events_process_task.autoretry_for) == {
        OperationalError,
        InterfaceError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
    }
    assert events_process_task.time_limit and events_process_task.soft_time_limit
