"""Redis down: every interface still answers with success for what it committed, and once
Redis is back the periodic jobs finish the follow-up work (notices, rescoring, routing).

Redis is really down (Celery and the cache pointed at a port nobody listens on), and the
tests commit for real (transaction=True), so the publish after commit runs inside the
request as it does in production. Once Redis is back, tasks run in-process (eager), as in
the rest of the suite; beat's jobs are run by hand at the minute they would run.
"""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import Lead, Stage
from leads.services.roles import roles_sync
from pipeline.tasks import pending_rescore_drain_task, rescore_range_task
from qualify_site.roles import Role
from routing.models import ActivityKind, Assignment, AssignmentNotice, AssignmentStatus, Team
from routing.services.assignments import lead_route
from routing.tasks import leads_route_unrouted_task, notice_send_task, sla_sweep_task
from scoring.models import LeadScore, VersionStatus
from scoring.services import rescore_ranges, rule_version_clone, rule_version_install_default
from scoring.services.rescoring import RESCORE_STALLED_AFTER
from tests.broker_utils import redis_unreachable
from tests.routing.world import make_queue, make_rep, rep_user, rule, sla

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def desk(django_user_model):
    """Maya manages Ann and Ben; Ann works the only queue; MQL leads get a one-hour first-touch SLA."""
    roles_sync()
    maya = rep_user(django_user_model, "maya", role=Role.MANAGER, is_staff=True)
    team = Team.objects.create(name="Inbound", manager=maya)
    ann = make_rep(rep_user(django_user_model, "ann"), team=team)
    ben = make_rep(rep_user(django_user_model, "ben"), team=team)
    rule("All", make_queue("Inbound", [ann]), 1)
    sla(Stage.MQL, minutes=60, warning=45)
    return {"maya": maya, "ann": ann, "ben": ben}


@pytest.fixture
def anns_lead(desk):
    """An MQL routed to Ann while Redis was up: her notice went out."""
    return lead_route(lead_id=Lead.objects.create(email="ada@acme.io", stage=Stage.MQL).id, trigger="qualified")


def _api(user) -> APIClient:
    client = APIClient(raise_request_exception=False)  # a 500 is an answer here, not a test error
    client.force_authenticate(user)
    return client


def _mail_to(mailoutbox, address: str) -> list[str]:
    return [message.subject for message in mailoutbox if address in message.to]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("action", "body", "status"),
    [("accept/", {}, 200), ("activities/", {"kind": "call", "notes": "Rang, left a voicemail"}, 201)],
)
def test_with_redis_down_a_reps_action_through_the_api_succeeds_and_is_committed(anns_lead, action, body, status):
    # when
    with redis_unreachable():
        response = _api(anns_lead.rep.user).post(
            f"/api/routing/assignments/{anns_lead.id}/{action}", body, format="json"
        )

    # then
    assert response.status_code == status, response.content
    anns_lead.refresh_from_db()
    if action == "accept/":
        assert anns_lead.status == AssignmentStatus.ACCEPTED
        assert Lead.objects.get(id=anns_lead.lead_id).stage == Stage.ACCEPTED
    else:
        assert anns_lead.first_touch_at is not None
        assert anns_lead.activities.filter(kind=ActivityKind.CALL).exists()


def _reassign_through_the_api(client, desk, assignment):
    return _api(desk["maya"]).post(
        f"/api/routing/assignments/{assignment.id}/reassign/",
        {"to_rep": desk["ben"].id, "reason": "Ann is on a course"},
        format="json",
    )


def _reassign_in_the_admin(client, desk, assignment):
    # Ben joins Ann's queue, so he is the next rep the admin action picks.
    assignment.queue.memberships.create(rep=desk["ben"])
    client.force_login(desk["maya"])
    return client.post(
        reverse("admin:routing_assignment_changelist"),
        {"action": "reassign_to_next", "_selected_action": [assignment.id]},
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("reassign", "status"), [(_reassign_through_the_api, 200), (_reassign_in_the_admin, 302)], ids=["api", "admin"]
)
def test_with_redis_down_a_managers_reassignment_succeeds_and_the_new_rep_is_told_once_redis_is_back(
    client, desk, anns_lead, mailoutbox, reassign, status
):
    # when: Maya reassigns Ann's lead to Ben while Redis is down
    with redis_unreachable():
        response = reassign(client, desk, anns_lead)
    reassigned_at = timezone.now()

    # then: the reassignment is committed; Ben's notice is owed, not sent
    assert response.status_code == status, response.content[:500]
    assert Assignment.objects.get(id=anns_lead.id).status == AssignmentStatus.REASSIGNED
    bens = Assignment.objects.get(lead_id=anns_lead.lead_id, status=AssignmentStatus.OPEN)
    assert bens.rep == desk["ben"]
    assert AssignmentNotice.objects.get(assignment=bens).sent_at is None
    assert _mail_to(mailoutbox, "ben@qualify.test") == []

    # and when: Redis is back, the SLA sweep runs each minute, and the broker delivers the notice twice
    for minute in (1, 3, 4):
        with time_machine.travel(reassigned_at + timedelta(minutes=minute)):
            sla_sweep_task.apply()
    notice_send_task.apply(args=["assigned", bens.id])

    # then: Ben was told once
    assert _mail_to(mailoutbox, "ben@qualify.test") == ["New lead for you: ada@acme.io"]


@pytest.fixture
def lowered_draft(desk, olivia):
    """The default rules live (scoring three leads that are not qualified) and a draft that
    qualifies everyone: publishing it qualifies the three, and routing gives them to Ann."""
    for name in ("ada", "bo", "cy"):
        Lead.objects.create(email=f"{name}@acme.io")
    live = rule_version_install_default()
    draft = rule_version_clone(version=live, user=olivia, name="Everyone is an MQL")
    type(draft).objects.filter(id=draft.id).update(fit_min=0, engagement_min=0, total_min=0)
    assert not Lead.objects.filter(stage=Stage.MQL).exists()
    return draft


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_a_publish_in_the_admin_succeeds_and_the_drain_finishes_its_rescore_once_redis_is_back(
    client, olivia, lowered_draft, mailoutbox
):
    # when: marketing ops publish while Redis is down
    client.force_login(olivia)
    with redis_unreachable():
        response = client.post(reverse("admin:scoring_ruleversion_publish", args=[lowered_draft.id]))

    # then: the version is live; its rescore has not run
    assert response.status_code == 302
    version = type(lowered_draft).objects.get(id=lowered_draft.id)
    assert version.status == VersionStatus.PUBLISHED and version.rescore_finished_at is None
    assert not LeadScore.objects.filter(version=version).exists()

    # and when: Redis is back and beat's drain runs, past the time a live rescore moves in
    with time_machine.travel(version.rescore_started_at + RESCORE_STALLED_AFTER + timedelta(minutes=1)):
        pending_rescore_drain_task.apply()

    # then: everyone rescored by the new version, the three qualified, routed to Ann, and she was told
    version.refresh_from_db()
    assert version.rescore_finished_at is not None
    assert LeadScore.objects.filter(version=version).count() == 3
    assert set(Lead.objects.values_list("stage", flat=True)) == {Stage.MQL}
    assert set(Assignment.objects.values_list("rep__user__username", "status")) == {("ann", AssignmentStatus.OPEN)}
    assert len(_mail_to(mailoutbox, "ann@qualify.test")) == 3


@pytest.mark.django_db(transaction=True)
def test_leads_a_rescore_qualified_while_redis_was_down_are_routed_by_the_unrouted_sweep(
    desk, olivia, lowered_draft, client
):
    # given: the version is published, and a worker runs a slice of its rescore as Redis goes down
    with redis_unreachable():
        client.force_login(olivia)
        client.post(reverse("admin:scoring_ruleversion_publish", args=[lowered_draft.id]))
        [(first_id, last_id)] = rescore_ranges()
        rescore_range_task.apply(args=[lowered_draft.id, first_id, last_id])
    assert set(Lead.objects.values_list("stage", flat=True)) == {Stage.MQL}
    assert not Assignment.objects.exists()

    # when: Redis is back and beat's routing sweep runs
    leads_route_unrouted_task.apply()

    # then
    assert Assignment.objects.filter(rep=desk["ann"], status=AssignmentStatus.OPEN).count() == 3
