"""Routing a lead: rule order, territories, account ownership, strategies' state,
capacity, out of office, fallback, waiting, reassignment, and the audit kept."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from leads.models import Stage
from leads.selectors import lead_list
from routing.models import Assignment, AssignmentStatus, OutOfOffice, QueueMember, RoutingDecision, Strategy, Team
from routing.services.assignments import (
    assignment_assign_waiting,
    assignment_reassign_to_next,
    lead_route,
    lead_route_preview,
    leads_route,
)
from routing.services.reps import queue_member_add
from tests.routing.world import (
    fallback_queue,
    make_account,
    make_lead,
    make_queue,
    make_rep,
    rep_user,
    rule,
    sla,
    territory,
)

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def org(django_user_model):
    """charlie manages a team of three reps; enterprise and DACH queues; a fallback queue."""
    charlie = rep_user(django_user_model, "charlie", role=__import__("qualify_site.roles").roles.Role.MANAGER)
    team = Team.objects.create(name="EMEA", manager=charlie)
    reps = {name: make_rep(rep_user(django_user_model, name), team=team) for name in ("ann", "ben", "cy")}
    enterprise = make_queue("Enterprise", [reps["ann"], reps["ben"]])
    dach = make_queue("DACH", [reps["cy"]])
    rule(
        "Enterprise accounts",
        enterprise,
        1,
        {"field": "account.employee_count", "op": "gte", "value": 1000},
    )
    rule("DACH", dach, 2, territory=territory("DACH", countries=["DE", "AT", "CH"]))
    return {"charlie": charlie, "team": team, "reps": reps, "enterprise": enterprise, "dach": dach}


def test_the_first_matching_rule_picks_the_queue_and_the_audit_says_why_earlier_rules_did_not(org):
    # given a 200-person German company: not enterprise, but DACH
    lead = make_lead("lea@kraut.de", account=make_account("kraut.de", employee_count=200, country="DE"))

    # when
    assignment = lead_route(lead_id=lead.id, trigger="qualified")

    # then
    assert assignment.queue == org["dach"] and assignment.rep == org["reps"]["cy"]
    decision = RoutingDecision.objects.get(lead=lead)
    rules = decision.audit["rules"]
    assert rules[0]["name"] == "Enterprise accounts" and not rules[0]["matched"]
    assert "200" in rules[0]["reason"]
    assert rules[1]["matched"] and decision.rule.name == "DACH"


def test_a_lead_outside_every_territory_and_rule_goes_to_the_fallback_queue(org):
    lead = make_lead("tom@smallco.fr", account=make_account("smallco.fr", employee_count=20, country="FR"))

    assignment = lead_route(lead_id=lead.id, trigger="qualified")

    assert assignment.queue == fallback_queue()
    # nobody is in the fallback queue yet: the lead waits there, flagged, never lost
    assert assignment.status == AssignmentStatus.WAITING and assignment.rep is None


def test_the_account_owner_wins_over_the_rules(org):
    owner = org["reps"]["cy"]
    account = make_account("bigcorp.com", employee_count=5000, country="US", owner=owner.user)
    lead = make_lead("pat@bigcorp.com", account=account)

    assignment = lead_route(lead_id=lead.id, trigger="qualified")

    assert assignment.rep == owner
    assert RoutingDecision.objects.get(lead=lead).audit["method"] == "account_owner"


def test_a_second_lead_of_an_account_goes_to_the_rep_already_working_it(org):
    account = make_account("bigcorp.com", employee_count=5000)
    first = lead_route(lead_id=make_lead("a@bigcorp.com", account=account).id, trigger="qualified")

    second = lead_route(lead_id=make_lead("b@bigcorp.com", account=account).id, trigger="qualified")

    assert second.rep == first.rep


def test_round_robin_alternates_and_stores_the_rotation(org):
    accounts = [make_account(f"big{n}.com", employee_count=2000) for n in range(6)]
    reps = [
        lead_route(lead_id=make_lead(f"x@big{n}.com", account=a).id, trigger="qualified").rep
        for n, a in enumerate(accounts)
    ]

    names = [rep.user.username for rep in reps]
    assert sorted(names[:2]) == ["ann", "ben"] and names[:2] * 3 == names
    counts = dict(
        QueueMember.objects.filter(queue=org["enterprise"]).values_list("rep__user__username", "assigned_count")
    )
    assert counts == {"ann": 3, "ben": 3}


def test_a_rep_at_capacity_or_out_of_office_is_skipped_with_the_reason(org):
    ann, ben = org["reps"]["ann"], org["reps"]["ben"]
    ann.capacity = 0
    ann.save()
    OutOfOffice.objects.create(
        rep=ben, starts_at=timezone.now() - timedelta(hours=1), ends_at=timezone.now() + timedelta(days=2)
    )
    lead = make_lead("q@big.com", account=make_account("big.com", employee_count=3000))

    assignment = lead_route(lead_id=lead.id, trigger="qualified")

    assert assignment.status == AssignmentStatus.WAITING
    considered = {check["rep_id"]: check["reason"] for check in RoutingDecision.objects.get(lead=lead).audit["reps"]}
    assert "capacity" in considered[ann.id]
    assert "out of office" in considered[ben.id].lower()


def test_a_waiting_lead_gets_a_rep_once_one_is_available(org):
    ann, ben = org["reps"]["ann"], org["reps"]["ben"]
    for rep in (ann, ben):
        rep.capacity = 0
        rep.save()
    lead = make_lead("w@big.com", account=make_account("big.com", employee_count=3000))
    waiting = lead_route(lead_id=lead.id, trigger="qualified")
    ann.capacity = 5
    ann.save()

    assigned = assignment_assign_waiting(assignment_id=waiting.id)

    assert assigned.rep == ann and assigned.status == AssignmentStatus.OPEN
    waiting.refresh_from_db()
    assert waiting.status == AssignmentStatus.CLOSED


def test_routing_twice_is_harmless_and_the_database_allows_one_active_assignment(org):
    lead = make_lead("d@big.com", account=make_account("big.com", employee_count=3000))
    first = lead_route(lead_id=lead.id, trigger="qualified")

    assert lead_route(lead_id=lead.id, trigger="qualified") is None
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(lead=lead, rep=first.rep, queue=first.queue, status=AssignmentStatus.OPEN)


def test_only_routable_stages_are_routed(org):
    lead = make_lead("s@big.com", stage=Stage.SQL, account=make_account("big.com", employee_count=3000))

    assert lead_route(lead_id=lead.id, trigger="manual") is None


def test_reassigning_moves_the_lead_to_the_next_rep_and_the_old_rep_loses_sight_of_it(org):
    lead = make_lead("r@big.com", account=make_account("big.com", employee_count=3000))
    first = lead_route(lead_id=lead.id, trigger="qualified")
    old_rep = first.rep
    assert lead_list(user=old_rep.user).filter(id=lead.id).exists()

    new = assignment_reassign_to_next(assignment_id=first.id, actor=org["charlie"], reason="Out sick")

    assert new.rep != old_rep and new.queue == first.queue
    first.refresh_from_db()
    assert first.status == AssignmentStatus.REASSIGNED
    assert not lead_list(user=old_rep.user).filter(id=lead.id).exists()
    assert lead_list(user=new.rep.user).filter(id=lead.id).exists()


def test_the_sla_due_time_follows_the_policy_for_the_stage(org):
    sla(Stage.MQL, minutes=60, warning=45)
    before = timezone.now()
    lead = make_lead("t@big.com", account=make_account("big.com", employee_count=3000))

    assignment = lead_route(lead_id=lead.id, trigger="qualified")

    assert timedelta(minutes=59) < assignment.due_at - before < timedelta(minutes=61)
    assert assignment.warn_at < assignment.due_at


def test_preview_shows_the_decision_without_applying_it(org):
    lead = make_lead("p@big.com", account=make_account("big.com", employee_count=3000))

    preview = lead_route_preview(lead_id=lead.id)

    assert preview.decision.rule_name == "Enterprise accounts"
    assert preview.decision.rep_id in {org["reps"]["ann"].id, org["reps"]["ben"].id}
    assert not Assignment.objects.exists() and not RoutingDecision.objects.exists()


def test_a_new_queue_member_joins_at_the_fair_point(org):
    # given ann and ben have had 10 leads each
    QueueMember.objects.filter(queue=org["enterprise"]).update(assigned_count=10)

    member = queue_member_add(queue_id=org["enterprise"].id, rep_id=org["reps"]["cy"].id)

    assert member.assigned_count == 10


def test_weighted_queue_shares_leads_by_weight(org, django_user_model):
    heavy = make_rep(rep_user(django_user_model, "heavy"), team=org["team"], weight=3)
    light = make_rep(rep_user(django_user_model, "light"), team=org["team"], weight=1)
    queue = make_queue("Weighted", [heavy, light], strategy=Strategy.WEIGHTED)
    rule("Everything else", queue, 99)
    leads = [make_lead(f"l{n}@acme{n}.io").id for n in range(8)]

    assignments = leads_route(lead_ids=leads, trigger="qualified")

    shares = {rep: sum(a.rep_id == rep.id for a in assignments) for rep in (heavy, light)}
    assert shares == {heavy: 6, light: 2}


def test_an_event_that_qualifies_a_lead_gets_it_assigned_through_the_workers_tasks(
    org, source_with_key, client, django_capture_on_commit_callbacks
):
    # given live scoring rules and an enterprise buyer
    import base64
    import json

    from scoring.services import rule_version_install_default

    with django_capture_on_commit_callbacks(execute=True):
        rule_version_install_default()
    _, write_key = source_with_key
    batch = [
        {"type": "identify", "userId": "vip", "traits": {"email": "vip@globex.com", "title": "VP Data"}},
        {"type": "group", "userId": "vip", "groupId": "globex", "traits": {"name": "Globex", "employees": 5000}},
        {"type": "track", "userId": "vip", "event": "Plan Limit Reached", "context": {"groupId": "globex"}},
    ]
    for number, message in enumerate(batch):
        message["messageId"] = f"vip-{number}"

    # when the batch arrives; processing, scoring and routing run as tasks on commit
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/v1/batch",
            json.dumps({"batch": batch}),
            content_type="application/json",
            HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{write_key}:".encode()).decode(),
        )

    # then the PQL is assigned in the enterprise queue
    assert response.status_code == 200
    assignment = Assignment.objects.get(lead__email="vip@globex.com")
    assert assignment.lead.stage == Stage.PQL
    assert assignment.queue == org["enterprise"] and assignment.status == AssignmentStatus.OPEN


def test_a_manager_can_hand_a_lead_waiting_in_their_teams_queue_to_a_rep(org):
    # given both enterprise reps are full, so the lead waits in the team's queue
    enterprise = org["enterprise"]
    enterprise.team = org["team"]
    enterprise.save()
    for name in ("ann", "ben"):
        org["reps"][name].capacity = 0
        org["reps"][name].save()
    waiting = lead_route(
        lead_id=make_lead("h@big.com", account=make_account("big.com", employee_count=3000)).id, trigger="qualified"
    )
    assert waiting.status == AssignmentStatus.WAITING

    # when their manager hands it to cy
    new = assignment_reassign_to_next(
        assignment_id=waiting.id, actor=org["charlie"], reason="cy has room", to_rep_id=org["reps"]["cy"].id
    )

    # then
    assert new.rep == org["reps"]["cy"] and new.status == AssignmentStatus.OPEN
    assert RoutingDecision.objects.filter(lead=new.lead).first().audit["method"] == "manual"


def test_a_deleted_fallback_queue_is_recreated_so_nothing_is_unroutable(org):
    fallback_queue().delete()
    lead = make_lead("z@nowhere.fr", account=make_account("nowhere.fr", employee_count=5, country="FR"))

    assignment = lead_route(lead_id=lead.id, trigger="qualified")

    assert assignment.queue.is_fallback and assignment.status == AssignmentStatus.WAITING


def test_a_lead_crossing_the_hot_threshold_is_routed_even_before_it_qualifies(org, django_capture_on_commit_callbacks):
    # given live rules, and a free-mail enthusiast: far too little fit for an MQL, but a hot total
    from django.utils import timezone

    from leads.services.identity import events_process_batch
    from leads.services.ingest import batch_ingest
    from leads.services.sources import source_create
    from pipeline.tasks import pending_rescore_drain_task
    from scoring.services import leads_mark_for_rescore, rule_version_install_default

    with django_capture_on_commit_callbacks(execute=True):
        rule_version_install_default()
    source, _ = source_create(name="Site", kind="marketing")
    messages = [{"type": "identify", "userId": "fan", "traits": {"email": "fan@gmail.com"}}]
    for event, times in (("Demo Requested", 1), ("Form Submitted", 3), ("Webinar Attended", 2), ("Trial Started", 1)):
        messages += [{"type": "track", "userId": "fan", "event": event} for _ in range(times)]
    messages += [{"type": "page", "userId": "fan", "properties": {"path": "/pricing"}} for _ in range(3)]
    for number, message in enumerate(messages):
        message["messageId"] = f"fan-{number}"
    batch = batch_ingest(source=source, messages=messages, envelope={}, received_at=timezone.now())
    events_process_batch(batch_id=batch.batch_id)
    leads_mark_for_rescore(batch_id=batch.batch_id)

    # when the worker drains the stale scores
    pending_rescore_drain_task.apply()

    # then the hot lead, still new, has a rep
    decision = RoutingDecision.objects.get(lead__email="fan@gmail.com")
    assert decision.lead.stage == Stage.NEW and decision.lead.score.is_hot and not decision.lead.score.is_mql
    assert decision.trigger == "hot" and decision.assignment.status in (AssignmentStatus.OPEN, AssignmentStatus.WAITING)


def test_an_assigned_lead_turning_hot_moves_up_to_high_priority(org):
    from routing.services.assignments import leads_mark_hot

    lead = make_lead("u@big.com", account=make_account("big.com", employee_count=3000))
    assignment = lead_route(lead_id=lead.id, trigger="qualified")
    assignment.priority = "normal"
    assignment.save()

    leads_mark_hot(lead_ids=[lead.id])

    assignment.refresh_from_db()
    assert assignment.priority == "high"
