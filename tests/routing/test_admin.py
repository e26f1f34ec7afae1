"""Routing in the admin: pages for admins and managers, read-only for marketing ops, validation
in plain words, fair queue joins, reassignment and re-routing actions, the preview page."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from leads.models import Lead, Stage
from leads.services.roles import roles_sync
from qualify_site.roles import Role
from routing.engine import QueueMember as EngineMember
from routing.engine import starting_assigned_count
from routing.models import (
    Activity,
    ActivityKind,
    Assignment,
    AssignmentStatus,
    HolidayCalendar,
    Queue,
    QueueMember,
    Rep,
    RoutingDecision,
    RoutingRule,
    RoutingTrigger,
    SlaEvent,
    SlaPolicy,
    Team,
    Territory,
)
from routing.services.assignments import lead_route
from routing.services.reps import queue_member_add

pytestmark = [pytest.mark.django_db]

ALWAYS = {str(day): [["00:00", "24:00"]] for day in range(7)}
MODELS = [
    "team",
    "territory",
    "holidaycalendar",
    "rep",
    "queue",
    "routingrule",
    "slapolicy",
    "assignment",
    "routingdecision",
    "slaevent",
    "activity",
]


@pytest.fixture(autouse=True)
def _roles():
    roles_sync()


@pytest.fixture
def org(alice, bob, charlie):
    """Charlie's team: Alice and Bob in the German queue; a rule sends German leads there."""
    team = Team.objects.create(name="East", manager=charlie)
    alice_rep = Rep.objects.create(user=alice, team=team, working_hours=ALWAYS)
    bob_rep = Rep.objects.create(user=bob, team=team, working_hours=ALWAYS)
    germany = Queue.objects.create(name="Germany", team=team)
    queue_member_add(queue_id=germany.id, rep_id=alice_rep.id)
    RoutingRule.objects.create(
        name="German leads", position=1, queue=germany, condition={"field": "lead.country", "op": "eq", "value": "DE"}
    )
    SlaPolicy.objects.create(name="MQL", stage=Stage.MQL, first_touch_minutes=60, warning_minutes=30)
    return {"team": team, "alice": alice_rep, "bob": bob_rep, "germany": germany}


@pytest.fixture
def assignment(org):
    lead = Lead.objects.create(email="hans@example.de", country="DE", stage=Stage.MQL)
    return lead_route(lead_id=lead.id, trigger=RoutingTrigger.QUALIFIED)


def _logged_in(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("who", ["admin_user_qualify", "charlie"])
@pytest.mark.parametrize("model", MODELS)
def test_every_routing_page_renders_for_admins_and_managers(client, request, assignment, who, model):
    # given
    _logged_in(client, request.getfixturevalue(who))
    SlaEvent.objects.create(assignment=assignment, kind="at_risk", at=assignment.assigned_at)
    HolidayCalendar.objects.create(name="Germany")
    Territory.objects.create(name="DACH", countries=["DE"])

    # when
    changelist = client.get(reverse(f"admin:routing_{model}_changelist"))

    # then
    assert changelist.status_code == 200, changelist.content[:500]
    first = changelist.context["cl"].result_list[0]
    assert client.get(reverse(f"admin:routing_{model}_change", args=[first.pk])).status_code == 200


def test_the_queue_list_counts_active_members_without_a_query_per_queue(
    client, charlie, org, django_assert_max_num_queries
):
    # given: Germany has Alice and an inactive Bob; ten more queues have nobody
    queue_member_add(queue_id=org["germany"].id, rep_id=org["bob"].id)
    QueueMember.objects.filter(queue=org["germany"], rep=org["bob"]).update(is_active=False)
    Queue.objects.bulk_create([Queue(name=f"Empty {number}") for number in range(10)])
    _logged_in(client, charlie)
    client.get(reverse("admin:routing_queue_changelist"))  # warm the session and the fallback queue

    # when
    with django_assert_max_num_queries(12):
        response = client.get(reverse("admin:routing_queue_changelist"))

    # then
    counts = {queue.name: queue.active_member_count for queue in response.context["cl"].result_list}
    assert counts["Germany"] == 1
    assert counts["Empty 0"] == 0


@pytest.mark.parametrize("model", ["territory", "holidaycalendar", "rep", "queue", "routingrule", "slapolicy"])
def test_the_add_pages_render_for_a_manager(client, charlie, org, model):
    # when
    response = _logged_in(client, charlie).get(reverse(f"admin:routing_{model}_add"))

    # then
    assert response.status_code == 200


def test_the_decision_page_shows_the_audit_in_words(client, admin_user_qualify, assignment):
    # given
    decision = RoutingDecision.objects.get(lead_id=assignment.lead_id)

    # when
    response = _logged_in(client, admin_user_qualify).get(
        reverse("admin:routing_routingdecision_change", args=[decision.pk])
    )

    # then
    html = response.content.decode()
    assert "Rules, in order" in html and "German leads" in html
    assert "Reps considered" in html and "alice" in html


@pytest.mark.parametrize(
    ("model", "status_code"), [("routingrule", 200), ("routingdecision", 200), ("assignment", 403)]
)
def test_marketing_ops_read_the_configuration_but_not_the_work(client, olivia, assignment, model, status_code):
    # when
    response = _logged_in(client, olivia).get(reverse(f"admin:routing_{model}_changelist"))

    # then
    assert response.status_code == status_code


@pytest.mark.parametrize("model", ["routingrule", "queue", "rep"])
def test_marketing_ops_cannot_change_the_configuration(client, olivia, org, model):
    # when
    response = _logged_in(client, olivia).get(reverse(f"admin:routing_{model}_add"))

    # then
    assert response.status_code == 403


def test_a_rep_is_kept_out_of_the_admin(client, alice, org):
    # when
    response = _logged_in(client, alice).get(reverse("admin:routing_routingrule_changelist"))

    # then: not staff, sent to the login page
    assert response.status_code == 302


def _rep_form(user, **overrides) -> dict:
    data = {
        "user": user.id,
        "capacity": 10,
        "weight": 1,
        "time_zone": "Europe/Berlin",
        "working_hours": '{"0": [["09:00", "17:00"]]}',
        "segments": "[]",
        "is_active": "on",
        "out_of_office-TOTAL_FORMS": 0,
        "out_of_office-INITIAL_FORMS": 0,
        "out_of_office-MIN_NUM_FORMS": 0,
        "out_of_office-MAX_NUM_FORMS": 1000,
    }
    return data | overrides


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "is not a time zone"),
        ({"working_hours": '{"0": [["17:00", "09:00"]]}'}, "working_hours", "ends before it starts"),
        ({"working_hours": '{"8": [["09:00", "17:00"]]}'}, "working_hours", "0 (Monday) to 6 (Sunday)"),
        ({"working_hours": '{"5": []}'}, "working_hours", "at least one interval"),
        ({"working_hours": "[1, 2]"}, "working_hours", "an object by weekday"),
    ],
)
def test_a_reps_hours_and_zone_are_validated_in_words(
    client, admin_user_qualify, django_user_model, overrides, field, words
):
    # given
    user = django_user_model.objects.create_user(username="rita")

    # when
    response = _logged_in(client, admin_user_qualify).post(
        reverse("admin:routing_rep_add"), _rep_form(user, **overrides)
    )

    # then
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert words in " ".join(errors[field])
    assert not Rep.objects.filter(user=user).exists()


def test_a_manager_adds_a_rep_with_time_off(client, charlie, django_user_model):
    # given
    user = django_user_model.objects.create_user(username="rita")
    data = _rep_form(
        user,
        manager=charlie.id,
        **{
            "out_of_office-TOTAL_FORMS": 1,
            "out_of_office-0-starts_at_0": "2030-07-01",
            "out_of_office-0-starts_at_1": "00:00",
            "out_of_office-0-ends_at_0": "2030-07-15",
            "out_of_office-0-ends_at_1": "00:00",
            "out_of_office-0-note": "Summer",
        },
    )

    # when
    response = _logged_in(client, charlie).post(reverse("admin:routing_rep_add"), data)

    # then
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    absence = Rep.objects.get(user=user).out_of_office.get()
    assert absence.note == "Summer" and absence.created_by == charlie


def _rule_form(queue, condition: str) -> dict:
    return {
        "name": "Enterprise",
        "position": 5,
        "is_active": "on",
        "condition": condition,
        "queue": queue.id,
        "priority": "high",
    }


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ('{"field": "lead.country", "op": "equals", "value": "DE"}', "operator"),
        ('{"field": "weather.today", "op": "eq", "value": "sunny"}', "weather"),
        (
            '{"field": "lead.shoe_size", "op": "eq", "value": 44}',
            "`lead.shoe_size` is not a field; did you mean `lead.source_kind`?",
        ),
        ('{"field": "lead.emial_domain", "op": "eq", "value": "acme.io"}', "did you mean `lead.email_domain`"),
        ('{"field": "score.is_hot", "op": "gt", "value": 1}', "`score.is_hot` is true/false; operator 'gt'"),
        ('{"all": "nope"}', "condition"),
    ],
)
def test_a_rules_condition_is_validated_in_plain_words_on_the_field(client, charlie, org, condition, words):
    # when
    response = _logged_in(client, charlie).post(
        reverse("admin:routing_routingrule_add"), _rule_form(org["germany"], condition)
    )

    # then
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "condition" in errors
    assert words in " ".join(errors["condition"])
    assert not RoutingRule.objects.filter(name="Enterprise").exists()


def test_a_valid_rule_is_saved_and_listed_in_words(client, charlie, org):
    # given
    client = _logged_in(client, charlie)

    # when
    response = client.post(
        reverse("admin:routing_routingrule_add"),
        _rule_form(org["germany"], '{"field": "account.segment", "op": "eq", "value": "enterprise"}'),
    )

    # then
    assert response.status_code == 302
    listing = client.get(reverse("admin:routing_routingrule_changelist")).content.decode()
    assert "Enterprise" in listing and "segment" in listing


def _queue_form(queue, members: list[dict], initial: int = 0) -> dict:
    """The queue's change form with its member rows (active unless they say otherwise)."""
    data = {
        "name": queue.name,
        "team": queue.team_id,
        "strategy": queue.strategy,
        "memberships-TOTAL_FORMS": len(members),
        "memberships-INITIAL_FORMS": initial,
        "memberships-MIN_NUM_FORMS": 0,
        "memberships-MAX_NUM_FORMS": 1000,
    }
    for index, member in enumerate(members):
        row = {"queue": queue.id, "is_active": "on", **member}
        data |= {f"memberships-{index}-{key}": value for key, value in row.items()}
    return data


def test_a_new_queue_member_joins_the_rotation_at_the_fair_count(client, charlie, org):
    # given: Alice has had 12 leads from the queue already
    queue = org["germany"]
    QueueMember.objects.filter(queue=queue, rep=org["alice"]).update(assigned_count=12)
    alice_member = QueueMember.objects.get(queue=queue, rep=org["alice"])
    expected = starting_assigned_count(
        [EngineMember(rep_id=org["alice"].id, assigned_count=12, weight=1)], 1, strategy="round_robin"
    )
    data = _queue_form(queue, [{"id": alice_member.id, "rep": org["alice"].id}, {"rep": org["bob"].id}], initial=1)

    # when
    response = _logged_in(client, charlie).post(reverse("admin:routing_queue_change", args=[queue.id]), data)

    # then: Bob starts level with Alice, not at zero (which would give him the next twelve leads)
    assert response.status_code == 302, response.context["inline_admin_formsets"] if response.context else ""
    assert expected == 12
    assert QueueMember.objects.get(queue=queue, rep=org["bob"]).assigned_count == expected
    assert QueueMember.objects.get(queue=queue, rep=org["alice"]).assigned_count == 12


@pytest.mark.parametrize("who", ["admin_user_qualify", "charlie"])
def test_reassign_to_the_next_rep_from_the_assignment_list(client, request, org, assignment, who):
    # given: Bob joins the queue, so there is a next rep
    queue_member_add(queue_id=org["germany"].id, rep_id=org["bob"].id)
    user = request.getfixturevalue(who)

    # when
    response = _logged_in(client, user).post(
        reverse("admin:routing_assignment_changelist"),
        {"action": "reassign_to_next", "_selected_action": [assignment.id]},
    )

    # then
    assert response.status_code == 302
    assert Assignment.objects.get(id=assignment.id).status == AssignmentStatus.REASSIGNED
    new = Assignment.objects.get(lead_id=assignment.lead_id, status=AssignmentStatus.OPEN)
    assert new.rep == org["bob"]
    reassigned = Activity.objects.get(lead_id=assignment.lead_id, kind=ActivityKind.REASSIGNED)
    assert reassigned.actor == user


def test_a_manager_does_not_see_another_teams_assignments(client, django_user_model, assignment):
    # given
    dave = django_user_model.objects.create_user(username="dave", is_staff=True)
    dave.groups.add(Group.objects.get(name=Role.MANAGER.value))

    # when
    response = _logged_in(client, dave).get(reverse("admin:routing_assignment_changelist"))

    # then
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_re_routing_routes_the_unassigned_mql_and_pql_leads_and_says_how_many(client, charlie, org, assignment):
    # given: two unassigned qualified leads, one new lead, and one already assigned
    Lead.objects.create(email="a@example.de", country="DE", stage=Stage.MQL)
    Lead.objects.create(email="b@example.fr", country="FR", stage=Stage.PQL)
    new = Lead.objects.create(email="c@example.de", country="DE", stage=Stage.NEW)

    # when
    response = _logged_in(client, charlie).post(reverse("admin:routing_reroute"), follow=True)

    # then
    messages = [str(message) for message in response.context["messages"]]
    assert any("Routed 2 of 2" in message for message in messages), messages
    assert Assignment.objects.count() == 3
    assert not Assignment.objects.filter(lead=new).exists()
    assert RoutingDecision.objects.filter(trigger=RoutingTrigger.REROUTE, actor=charlie).count() == 2


def test_re_routing_is_not_for_marketing_ops(client, olivia, org):
    # given
    Lead.objects.create(email="a@example.de", country="DE", stage=Stage.MQL)

    # when
    response = _logged_in(client, olivia).post(reverse("admin:routing_reroute"))

    # then
    assert response.status_code == 403
    assert not Assignment.objects.exists()


@pytest.mark.parametrize("lookup", ["id", "email"])
@pytest.mark.parametrize("who", ["admin_user_qualify", "charlie", "olivia"])
def test_the_preview_page_explains_without_applying(client, request, org, who, lookup):
    # given: a French lead; the German rule does not match, so the empty fallback queue takes it
    lead = Lead.objects.create(email="jean@example.fr", country="FR", stage=Stage.MQL)
    value = lead.id if lookup == "id" else "Jean@Example.fr"

    # when
    response = _logged_in(client, request.getfixturevalue(who)).get(reverse("admin:routing_preview"), {"lead": value})

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "jean@example.fr" in html
    assert "German leads" in html and "Fallback" in html
    assert "none matched (fallback queue)" in html
    assert "nobody available" in html
    assert not Assignment.objects.exists() and not RoutingDecision.objects.exists()


def test_the_preview_page_names_the_rep_and_why_others_were_skipped(client, charlie, org):
    # given: Bob is in the queue but at capacity
    queue_member_add(queue_id=org["germany"].id, rep_id=org["bob"].id)
    Rep.objects.filter(id=org["bob"].id).update(capacity=0)
    lead = Lead.objects.create(email="hans@example.de", country="DE", stage=Stage.MQL)

    # when
    html = _logged_in(client, charlie).get(reverse("admin:routing_preview"), {"lead": lead.id}).content.decode()

    # then
    assert "German leads" in html
    assert "capacity" in html
    assert "<th>Rep</th><td>alice</td>" in html


def test_the_preview_page_says_when_the_lead_is_unknown(client, charlie, org):
    # when
    response = _logged_in(client, charlie).get(reverse("admin:routing_preview"), {"lead": "nobody@example.com"})

    # then
    assert "No lead with the id or email" in response.content.decode()


@pytest.mark.parametrize(("who", "routed"), [("charlie", True), ("admin_user_qualify", True), ("olivia", False)])
def test_route_selected_leads_now_from_the_lead_list(client, request, org, who, routed):
    # given
    lead = Lead.objects.create(email="hans@example.de", country="DE", stage=Stage.MQL)

    # when
    _logged_in(client, request.getfixturevalue(who)).post(
        reverse("admin:leads_lead_changelist"), {"action": "route_now", "_selected_action": [lead.id]}
    )

    # then: marketing ops do not get the action
    assert Assignment.objects.filter(lead=lead, rep=org["alice"]).exists() is routed


# --- a manager acts on their own team only -------------------------------------------------------


@pytest.fixture
def other_team(dana, erin):
    """Dana's team, with Erin in it: not Charlie's."""
    team = Team.objects.create(name="West", manager=dana)
    erin_rep = Rep.objects.create(user=erin, team=team, working_hours=ALWAYS, capacity=25)
    queue = Queue.objects.create(name="France", team=team)
    queue_member_add(queue_id=queue.id, rep_id=erin_rep.id)
    return {"team": team, "dana": dana, "erin": erin_rep, "queue": queue}


def test_a_manager_cannot_change_another_teams_reps_capacity(client, charlie, org, other_team):
    # given
    erin = other_team["erin"]

    # when
    response = _logged_in(client, charlie).post(
        reverse("admin:routing_rep_change", args=[erin.id]), _rep_form(erin.user, capacity=99, team=erin.team_id)
    )

    # then
    assert response.status_code == 403
    assert Rep.objects.get(id=erin.id).capacity == 25


def test_a_manager_sets_their_own_reps_capacity_in_the_admin(client, charlie, org):
    # given
    alice = org["alice"]

    # when
    response = _logged_in(client, charlie).post(
        reverse("admin:routing_rep_change", args=[alice.id]), _rep_form(alice.user, capacity=7, team=org["team"].id)
    )

    # then
    assert response.status_code == 302
    assert Rep.objects.get(id=alice.id).capacity == 7


def test_a_capacity_the_service_refuses_is_an_error_message_and_nothing_is_saved(client, charlie, org):
    # given
    alice = org["alice"]

    # when
    response = _logged_in(client, charlie).post(
        reverse("admin:routing_rep_change", args=[alice.id]),
        _rep_form(alice.user, capacity=20_000, weight=3, team=org["team"].id),
        follow=True,
    )

    # then
    assert response.status_code == 200
    assert "Nothing was saved: Capacity is a whole number of open assignments" in response.content.decode()
    stored = Rep.objects.get(id=alice.id)
    assert (stored.capacity, stored.weight) == (25, 1)


def test_a_manager_cannot_hand_their_rep_to_another_manager(client, charlie, org, other_team):
    # given
    alice = org["alice"]

    # when
    response = _logged_in(client, charlie).post(
        reverse("admin:routing_rep_change", args=[alice.id]),
        _rep_form(alice.user, manager=other_team["dana"].id),
        follow=True,
    )

    # then
    assert "Nothing was saved: A manager keeps their reps in their own team" in response.content.decode()
    stored = Rep.objects.get(id=alice.id)
    assert (stored.team_id, stored.manager_id) == (org["team"].id, None)


def test_a_manager_is_offered_only_their_own_teams(client, charlie, org, other_team):
    # when
    response = _logged_in(client, charlie).get(reverse("admin:routing_rep_add"))

    # then
    choices = response.context["adminform"].form.fields["team"].queryset
    assert list(choices) == [org["team"]]


@pytest.mark.parametrize("who", ["charlie", "admin_user_qualify"])
def test_time_off_added_in_the_admin_is_checked_and_recorded_with_who_added_it(client, request, org, who):
    # given
    user = request.getfixturevalue(who)
    alice = org["alice"]
    data = _rep_form(
        alice.user,
        team=org["team"].id,
        **{
            "out_of_office-TOTAL_FORMS": 1,
            "out_of_office-0-starts_at_0": "2030-07-15",
            "out_of_office-0-starts_at_1": "00:00",
            "out_of_office-0-ends_at_0": "2030-07-01",
            "out_of_office-0-ends_at_1": "00:00",
        },
    )

    # when: the period ends before it starts
    refused = _logged_in(client, user).post(reverse("admin:routing_rep_change", args=[alice.id]), data)
    saved_after_refusal = alice.out_of_office.count()
    data["out_of_office-0-ends_at_0"] = "2030-07-31"
    saved = client.post(reverse("admin:routing_rep_change", args=[alice.id]), data)

    # then
    assert refused.context["errors"] and saved_after_refusal == 0
    assert saved.status_code == 302
    assert alice.out_of_office.get().created_by == user


def test_a_manager_cannot_change_or_remove_another_teams_time_off(client, charlie, org, other_team):
    # given
    erin = other_team["erin"]
    absence = erin.out_of_office.create(starts_at="2030-07-01T00:00Z", ends_at="2030-07-15T00:00Z", note="Summer")
    data = _rep_form(
        erin.user,
        team=other_team["team"].id,
        **{
            "out_of_office-TOTAL_FORMS": 1,
            "out_of_office-INITIAL_FORMS": 1,
            "out_of_office-0-id": absence.id,
            "out_of_office-0-rep": erin.id,
            "out_of_office-0-DELETE": "on",
        },
    )

    # when
    response = _logged_in(client, charlie).post(reverse("admin:routing_rep_change", args=[erin.id]), data)

    # then
    assert response.status_code == 403
    assert erin.out_of_office.filter(id=absence.id, note="Summer").exists()


def test_a_manager_cannot_put_another_teams_rep_in_their_queue(client, charlie, org, other_team):
    # given
    queue = org["germany"]
    data = _queue_form(queue, [{"rep": other_team["erin"].id}])

    # when
    response = _logged_in(client, charlie).post(
        reverse("admin:routing_queue_change", args=[queue.id]), data, follow=True
    )

    # then
    assert "Nothing was saved: Only the rep&#x27;s manager or an admin can do this." in response.content.decode()
    assert not QueueMember.objects.filter(queue=queue, rep=other_team["erin"]).exists()


def test_a_manager_cannot_reorder_another_teams_rule_from_the_list(client, charlie, org, other_team):
    # given: the list edits positions in place
    ours = RoutingRule.objects.get(name="German leads")
    theirs = RoutingRule.objects.create(name="French leads", position=2, queue=other_team["queue"])
    data = {
        "form-TOTAL_FORMS": 2,
        "form-INITIAL_FORMS": 2,
        "form-0-id": ours.id,
        "form-0-position": 1,
        "form-0-is_active": "on",
        "form-1-id": theirs.id,
        "form-1-position": 0,
        "form-1-is_active": "on",
        "_save": "Save",
    }

    # when
    response = _logged_in(client, charlie).post(reverse("admin:routing_routingrule_changelist"), data)

    # then
    assert response.status_code == 403
    assert RoutingRule.objects.get(id=theirs.id).position == 2
