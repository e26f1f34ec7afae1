"""seed_demo records the CRM's outcomes through routing.services.outcomes: a closed-won demo lead is
won (never left in New, MQL or PQL), with the outcome as evidence and no assignment left open."""

from io import StringIO

import pytest
from django.core.management import call_command

from leads.models import Lead, Outcome, OutcomeKind, Stage, StageChange
from routing.models import ACTIVE_ASSIGNMENT_STATUSES, Assignment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_no_closed_won_demo_lead_sits_in_new_mql_or_pql():
    # when
    output = StringIO()
    call_command("seed_demo", "--accounts", "40", "--seed", "3", "--now", "2026-01-15T12:00:00Z", stdout=output)

    # then
    won = Outcome.objects.filter(kind=OutcomeKind.CLOSED_WON, lead__isnull=False)
    won_leads = Lead.objects.filter(id__in=won.values("lead_id"))
    assert won_leads.exists()
    assert not won_leads.filter(stage__in=[Stage.NEW, Stage.MQL, Stage.PQL]).exists()
    assert set(won_leads.values_list("stage", flat=True)) <= {Stage.WON, Stage.DISQUALIFIED}
    assert StageChange.objects.filter(lead__in=won_leads, to_stage=Stage.WON, evidence__kind="closed_won").exists()
    assert not Assignment.objects.filter(lead__in=won_leads, status__in=ACTIVE_ASSIGNMENT_STATUSES).exists()
    assert f"{Outcome.objects.count()} outcomes" in output.getvalue()
