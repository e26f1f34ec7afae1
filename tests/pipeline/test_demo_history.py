"""seed_demo dates the demo world's stage history when it would have happened (pipeline/demo_history.py):
leads qualify over the months of the world, outcomes move them when they happened, so the conversion
page shows cohorts and time between steps, not one cohort at the seed's moment."""

from datetime import UTC, date, datetime
from io import StringIO
from itertools import pairwise

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Max, Min

from insights.selectors.conversion import Dimension, conversion_get, conversion_query_build
from leads.models import Lead, Outcome, Stage, StageChange
from routing.models import Assignment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.slow]

# The world ends when the seed runs, as with `make demo`: scoring reads the wall clock.
WORLD_END = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def seeded():
    with time_machine.travel(WORLD_END, tick=False):
        call_command("seed_demo", "--accounts", "40", "--seed", "3", stdout=StringIO())


def test_the_seeded_demo_has_monthly_mql_cohorts_and_time_between_the_steps(seeded):
    # when
    query = conversion_query_build(
        funnel=None, by=Dimension.COHORT, period=None, start=None, end=None, today=date(2026, 1, 15)
    )
    conversion = conversion_get(query)

    # then
    cohorts = [row for row in conversion.cohorts if row.entered]
    assert len(cohorts) >= 3
    medians = {step.stage: step.median_days for step in conversion.total.steps}
    assert medians[Stage.ACCEPTED] or medians[Stage.OPPORTUNITY]


def test_each_demo_lead_s_stage_history_is_in_time_order_and_none_of_it_after_the_world_s_end(seeded):
    # given
    changes = list(StageChange.objects.order_by("lead_id", "id").values_list("lead_id", "changed_at"))
    assert changes

    # then
    for (lead, earlier), (same_lead, later) in pairwise(changes):
        assert lead != same_lead or earlier <= later
    assert max(changed_at for _, changed_at in changes) <= WORLD_END
    latest = dict(StageChange.objects.values("lead_id").annotate(last=Max("changed_at")).values_list("lead_id", "last"))
    assert dict(Lead.objects.filter(id__in=latest).values_list("id", "stage_changed_at")) == latest


def test_outcomes_move_leads_when_they_happened_and_leads_qualify_before_they_are_worked(seeded):
    # given
    outcomes = dict(Outcome.objects.values_list("id", "occurred_at"))
    history = StageChange.objects.order_by("lead_id", "id")
    previous = {}

    # then: an outcome's move is dated when it happened, or with the move before it if that came later
    checked = 0
    for change in history:
        if change.actor_label == "outcome" and change.to_stage != Stage.OPPORTUNITY:
            occurred_at = outcomes[change.evidence["outcome_id"]]
            assert change.changed_at == max(occurred_at, previous.get(change.lead_id, occurred_at))
            checked += 1
        previous[change.lead_id] = change.changed_at
    assert checked
    # and a lead qualified no later than its first assignment
    first_assigned = dict(
        Assignment.objects.filter(assigned_at__isnull=False)
        .values("lead_id")
        .annotate(first=Min("assigned_at"))
        .values_list("lead_id", "first")
    )
    qualified = dict(
        StageChange.objects.filter(actor_label="scoring", to_stage__in=[Stage.MQL, Stage.PQL])
        .values("lead_id")
        .annotate(first=Min("changed_at"))
        .values_list("lead_id", "first")
    )
    assert set(qualified) & set(first_assigned)
    for lead_id in set(qualified) & set(first_assigned):
        assert qualified[lead_id] <= first_assigned[lead_id]
    # and the demo requests' first touches keep their business-time moments (routing/demo.py)
    assert StageChange.objects.filter(actor__isnull=False).exists()
    for change in StageChange.objects.filter(actor__isnull=False, to_stage=Stage.ACCEPTED):
        assert change.changed_at == Assignment.objects.filter(lead_id=change.lead_id).get().accepted_at
