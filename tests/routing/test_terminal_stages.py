"""A lead in a terminal stage (won, lost, disqualified) is nobody's work any more: moving it there
closes its open assignment, and its assignment is not handed to another rep."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import Lead, Stage
from leads.services.roles import roles_sync
from qualify_site.roles import Role
from routing.models import ACTIVE_ASSIGNMENT_STATUSES, Activity, ActivityKind, Assignment, AssignmentStatus, Team
from routing.services.assignments import assignment_reassign_to_next, lead_route
from routing.services.ownership import lead_stage_set
from routing.services.sla import sla_sweep
from tests.routing.world import make_lead, make_queue, make_rep, rep_user, rule, sla

pytestmark = [pytest.mark.django_db]

TERMINAL = [Stage.WON, Stage.LOST, Stage.DISQUALIFIED]


@pytest.fixture
def org(django_user_model):
    """charlie manages ann and ben, who share one queue."""
    roles_sync()
    charlie = rep_user(django_user_model, "charlie", role=Role.MANAGER, is_staff=True)
    team = Team.objects.create(name="EMEA", manager=charlie)
    reps = {name: make_rep(rep_user(django_user_model, name), team=team) for name in ("ann", "ben")}
    queue = make_queue("Everyone", [reps["ann"], reps["ben"]])
    queue.team = team
    queue.save(update_fields=["team"])
    rule("Everyone", queue, 1)
    return {"charlie": charlie, "reps": reps}


def _routed_lead() -> Assignment:
    lead = make_lead("wanda@acme.com")
    return lead_route(lead_id=lead.id, trigger="qualified")


def _terminal_with_open_assignment(stage: str) -> Assignment:
    """A lead that reached a terminal stage while its assignment stayed open (data from before the fix)."""
    assignment = _routed_lead()
    Lead.objects.filter(id=assignment.lead_id).update(stage=stage)
    return assignment


@pytest.mark.parametrize("stage", TERMINAL)
def test_moving_a_lead_to_a_terminal_stage_closes_its_open_assignment(org, stage):
    # given
    assignment = _routed_lead()

    # when
    lead_stage_set(lead_id=assignment.lead_id, to_stage=stage, reason="Decided", user=org["charlie"])

    # then
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.CLOSED
    assert assignment.closed_at is not None
    assert Stage(stage).label in assignment.close_reason
    assert not Assignment.objects.filter(lead_id=assignment.lead_id, status__in=ACTIVE_ASSIGNMENT_STATUSES).exists()


def test_moving_a_lead_to_a_stage_that_is_not_terminal_leaves_its_assignment_open(org):
    # given
    assignment = _routed_lead()

    # when
    lead_stage_set(lead_id=assignment.lead_id, to_stage=Stage.OPPORTUNITY, user=org["charlie"])

    # then
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.OPEN and assignment.closed_at is None


def test_a_refused_stage_move_closes_nothing(org):
    # given
    assignment = _routed_lead()

    # when the reason a lost lead needs is missing
    with pytest.raises(ValidationError):
        lead_stage_set(lead_id=assignment.lead_id, to_stage=Stage.LOST, user=org["charlie"])

    # then
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.OPEN and assignment.closed_at is None


@pytest.mark.parametrize("stage", TERMINAL)
def test_reassigning_the_assignment_of_a_terminal_lead_is_refused_with_the_reason(org, stage):
    # given
    assignment = _terminal_with_open_assignment(stage)

    # when
    with pytest.raises(ValidationError, match=f"is {Stage(stage).label}"):
        assignment_reassign_to_next(assignment_id=assignment.id, actor=org["charlie"], reason="Balance")

    # then nothing moved
    assert list(Assignment.objects.filter(lead_id=assignment.lead_id)) == [assignment]
    assert Assignment.objects.get(id=assignment.id).status == AssignmentStatus.OPEN
    assert not Activity.objects.filter(lead_id=assignment.lead_id, kind=ActivityKind.REASSIGNED).exists()


def test_the_api_answers_400_with_the_reason_when_reassigning_a_won_lead(org):
    # given
    assignment = _terminal_with_open_assignment(Stage.WON)
    client = APIClient()
    client.force_authenticate(org["charlie"])

    # when
    response = client.post(f"/api/routing/assignments/{assignment.id}/reassign/", {"reason": "Balance"}, format="json")

    # then
    assert response.status_code == 400, response.content
    assert "is Won" in str(response.json())
    assert Assignment.objects.filter(lead_id=assignment.lead_id).count() == 1


def test_the_admin_action_shows_why_a_won_leads_assignment_was_not_reassigned(client, org):
    # given
    assignment = _terminal_with_open_assignment(Stage.WON)
    client.force_login(org["charlie"])

    # when
    response = client.post(
        reverse("admin:routing_assignment_changelist"),
        {"action": "reassign_to_next", "_selected_action": [assignment.id]},
        follow=True,
    )

    # then
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert any("Not reassigned" in message and "is Won" in message for message in shown), shown
    assert Assignment.objects.filter(lead_id=assignment.lead_id).count() == 1


def test_the_sla_sweep_leaves_a_terminal_leads_open_assignment_alone_and_sweeps_the_rest(org):
    # given two overdue assignments under a reassigning SLA, one of a lead that was won meanwhile
    sla(Stage.MQL, minutes=60, warning=30, on_breach="reassign")
    won = _terminal_with_open_assignment(Stage.WON)
    other = lead_route(lead_id=make_lead("otto@acme.com").id, trigger="qualified")
    later = timezone.now() + timedelta(hours=2)

    # when
    result = sla_sweep(now=later)

    # then
    assert won.id not in result.breached + result.at_risk
    assert Assignment.objects.get(id=won.id).breached_at is None
    assert result.breached == (other.id,)
