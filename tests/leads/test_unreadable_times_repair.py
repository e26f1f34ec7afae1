"""Event times stored before ingestion checked them are repaired on upgrade, not lost (leads migration 0009)."""

import importlib

import pytest
from django.db import connection

from leads.models import Event
from leads.services.dead_letters import batch_process_or_set_aside
from tests.leads.poison_utils import poison_batch

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

repair = importlib.import_module("leads.migrations.0009_event_unreadable_times_repair")


def _run_repair() -> None:
    with connection.schema_editor() as schema_editor:
        repair.repair_unreadable_times(None, schema_editor)


def _times(batch_id: str) -> list[tuple[str, str | None]]:
    # As text: Python cannot read the poison value back.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT timestamp::text, sent_at::text FROM {Event._meta.db_table} WHERE batch_id = %s",  # noqa: S608
            [batch_id],
        )
        return cursor.fetchall()


def test_an_unreadable_time_moves_to_extra_and_its_batch_is_then_processed(source_with_key):
    # given: a batch stored by a version that let the year 10000 in
    source, _ = source_with_key
    poisoned = poison_batch(source, "u-old")
    stored_as = _times(poisoned)[0][0]

    # when
    _run_repair()

    # then: readable, the original kept, and the batch goes through
    event = Event.objects.get(batch_id=poisoned)
    assert event.timestamp == event.received_at
    assert event.extra["unreadable_times"] == {"timestamp": stored_as}
    assert batch_process_or_set_aside(batch_id=poisoned) == 1
    assert Event.objects.get(batch_id=poisoned).lead_id is not None


def test_readable_times_are_left_alone(source_with_key):
    # given
    source, _ = source_with_key
    healthy = poison_batch(source, "u-new")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Event._meta.db_table} SET timestamp = '9999-12-30T23:00:00+00:00' WHERE batch_id = %s",  # noqa: S608
            [healthy],
        )
    before = _times(healthy)

    # when
    _run_repair()

    # then
    assert _times(healthy) == before
    assert "unreadable_times" not in Event.objects.get(batch_id=healthy).extra
