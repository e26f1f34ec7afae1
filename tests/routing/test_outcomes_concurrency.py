"""A CRM that delivers one record twice at the same moment (a webhook retried while the first
delivery is still being recorded): one outcome, one stage change, against real PostgreSQL."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Outcome, Stage, StageChange
from routing.services.outcome_input import outcome_input_check
from routing.services.outcomes import RecordStatus, outcome_record
from tests.routing.test_concurrency import _in_thread
from tests.routing.world import make_lead

pytestmark = [pytest.mark.postgres]


@pytest.mark.django_db(transaction=True)
def test_the_same_record_delivered_twice_at_once_is_recorded_once_and_moves_the_lead_once():
    # given
    lead = make_lead("ann@acme.com", stage=Stage.MQL)
    data = outcome_input_check(
        {
            "external_id": "opp-1",
            "kind": "closed_won",
            "occurred_at": timezone.now() - timedelta(days=1),
            "amount": "900",
            "lead_id": lead.id,
        }
    )
    start = threading.Barrier(2)

    def deliver():
        start.wait()
        return outcome_record(data=data).status

    # when
    results, errors = [], []
    threads = [_in_thread(lambda: results.append(deliver()), errors) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then
    assert not errors
    assert sorted(results) == [RecordStatus.CREATED, RecordStatus.UNCHANGED]
    assert Outcome.objects.count() == 1
    assert list(StageChange.objects.filter(lead=lead).values_list("to_stage", flat=True)) == [Stage.WON]
