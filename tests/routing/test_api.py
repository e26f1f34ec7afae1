"""The routing REST API: each role acts only where it may, each action does what it says
and lands on the lead's timeline, and bad input answers 400 naming the field."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import Lead, Stage, StageChange
from qualify_site.roles import Role
from routing.models import (
    Activity,
    ActivityKind,
    Assignment,
    AssignmentStatus,
    OutOfOffice,
    Queue,
    Rep,
    RoutingDecision,
    RoutingRule,
    RoutingTrigger,
    SlaPolicy,
    Team,
)
from routing.services.assignments import lead_route
from routing.services.reps import queue_member_add

pytestmark = [pytest.mark.django_db]

ALWAYS = {str(day): [["00:00", "24:00"]] for day in range(7)}


def _user(django_user_model, username: str, role: Role):
    user = django_user_model.objects.create_user(username=username, password="pw")
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    return user


def _queue_for(name: str, rep: Rep, country: str, position: int) -> Queue:
    queue = Queue.objects.create(name=name, team=rep.team)
    queue_member_add(queue_id=queue.id, rep_id=rep.id)
    RoutingRule.objects.create(
        name=f"{country} leads",
        position=position,
        queue=queue,
        condition={"field": "lead.country", "op": "eq", "value": country},
    )
    return queue


@pytest.fixture
def org(django_user_model, alice, bob, charlie):
    """Charlie manages Alice and Bob; Dave manages Erin. German leads go to Alice, French to Bob, US to Erin."""
    dave = _user(django_user_model, "dave", Role.MANAGER)
    erin = _user(django_user_model, "erin", Role.REP)
    east = Team.objects.create(name="East", manager=charlie)
    west = Team.objects.create(name="West", manager=dave)
    reps = {
        "alice": Rep.objects.create(user=alice, team=east, working_hours=ALWAYS),
        "bob": Rep.objects.create(user=bob, team=east, working_hours=ALWAYS),
        "erin": Rep.objects.create(user=erin, team=west, working_hours=ALWAYS),
    }
    _queue_for("Germany", reps["alice"], "DE", 1)
    _queue_for("France", reps["bob"], "FR", 2)
    _queue_for("USA", reps["erin"], "US", 3)
    SlaPolicy.objects.create(name="MQL", stage=Stage.MQL, first_touch_minutes=60, warning_minutes=30)
    return {"dave": dave, "erin": erin, "reps": reps, "east": east, "west": west}


def _routed(email: str, country: str, stage: str = Stage.MQL) -> Assignment:
    lead = Lead.objects.create(email=email, country=country, stage=stage)
    return lead_route(lead_id=lead.id, trigger=RoutingTrigger.QUALIFIED)


@pytest.fixture
def work(org):
    """One assignment each for Alice, Bob and Erin."""
    return {
        "alice": _routed("anna@example.de", "DE"),
        "bob": _routed("bruno@example.fr", "FR"),
        "erin": _routed("eve@example.com", "US"),
    }


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def _kinds(lead_id: int) -> list[str]:
    return list(Activity.objects.filter(lead_id=lead_id).order_by("at", "id").values_list("kind", flat=True))


# --- who sees what -------------------------------------------------------------------------


def test_it_routed_the_fixture_leads_to_the_expected_reps(work, org):
    # then: the rest of this module relies on it
    assert {name: assignment.rep for name, assignment in work.items()} == org["reps"]


def test_a_rep_lists_only_their_own_assignments(work, alice):
    # when
    ids = _ids(_client(alice).get("/api/routing/assignments/"))

    # then
    assert ids == {work["alice"].id}


def test_a_manager_lists_their_teams_assignments_only(work, charlie, org):
    # when
    charlie_ids = _ids(_client(charlie).get("/api/routing/assignments/"))
    dave_ids = _ids(_client(org["dave"]).get("/api/routing/assignments/"))

    # then
    assert charlie_ids == {work["alice"].id, work["bob"].id}
    assert dave_ids == {work["erin"].id}


def test_an_admin_lists_every_assignment(work, admin_user_qualify):
    # when
    ids = _ids(_client(admin_user_qualify).get("/api/routing/assignments/"))

    # then
    assert ids == {assignment.id for assignment in work.values()}


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/routing/assignments/"),
        ("get", "/api/routing/assignments/{id}/"),
        ("post", "/api/routing/assignments/{id}/accept/"),
        ("post", "/api/routing/assignments/{id}/activities/"),
        ("post", "/api/routing/leads/{lead}/route/"),
        ("get", "/api/routing/leads/{lead}/timeline/"),
        ("post", "/api/routing/reps/{rep}/capacity/"),
    ],
)
def test_marketing_ops_work_no_assignments(work, olivia, method, url):
    # given
    assignment = work["alice"]
    url = url.format(id=assignment.id, lead=assignment.lead_id, rep=assignment.rep_id)

    # when
    response = getattr(_client(olivia), method)(url, {"kind": "call", "capacity": 3}, format="json")

    # then
    assert response.status_code == 403, response.content
    assert Assignment.objects.get(id=assignment.id).status == AssignmentStatus.OPEN
    assert not Activity.objects.exclude(kind=ActivityKind.ASSIGNED).exists()


ACTIONS = [
    ("get", "", {}),
    ("post", "accept/", {}),
    ("post", "reject/", {"reason": "Student"}),
    ("post", "activities/", {"kind": "call", "notes": "Hello"}),
    ("post", "meeting/", {"starts_at": "2030-01-01T10:00:00Z"}),
    ("post", "convert/", {}),
    ("post", "disqualify/", {"reason": "Competitor"}),
    ("post", "request-reassignment/", {"reason": "Wrong language"}),
    ("post", "reassign/", {"reason": "Balance"}),
]


@pytest.mark.parametrize(("method", "action", "body"), ACTIONS)
@pytest.mark.parametrize("who", ["bob", "dave"])
def test_nobody_acts_on_an_assignment_they_may_not_see(work, org, bob, who, method, action, body):
    # given: Bob is another rep of the same team, Dave the manager of another team
    user = bob if who == "bob" else org["dave"]
    assignment = work["alice"]

    # when
    response = getattr(_client(user), method)(f"/api/routing/assignments/{assignment.id}/{action}", body, format="json")

    # then: 404, as if it did not exist
    assert response.status_code == 404, response.content
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.OPEN
    assert assignment.first_touch_at is None and assignment.reassignment_requested_at is None
    assert _kinds(assignment.lead_id) == [ActivityKind.ASSIGNED]


def test_an_unknown_assignment_is_404(work, admin_user_qualify):
    # when
    response = _client(admin_user_qualify).post("/api/routing/assignments/999999/accept/")

    # then
    assert response.status_code == 404


def test_a_manager_acts_on_their_teams_assignments(work, charlie):
    # when
    response = _client(charlie).post(
        f"/api/routing/assignments/{work['bob'].id}/activities/", {"kind": "note", "notes": "Coached Bob"}
    )

    # then
    assert response.status_code == 201, response.content
    assert Activity.objects.get(lead_id=work["bob"].lead_id, kind=ActivityKind.NOTE).actor == charlie


# --- filters and order --------------------------------------------------------------------


def test_the_list_is_ordered_by_due_time_across_cursor_pages(org, alice):
    # given: three assignments, the second one due soonest; one waiting without a due time
    first, second, third = (_routed(f"lead{n}@example.de", "DE") for n in range(3))
    now = timezone.now()
    for assignment, minutes in [(first, 50), (second, 10), (third, 30)]:
        Assignment.objects.filter(id=assignment.id).update(due_at=now + timedelta(minutes=minutes))
    Assignment.objects.filter(id=first.id).update(due_at=None)

    # when: one per page
    seen, url = [], "/api/routing/assignments/?page_size=1"
    while url:
        page = _client(alice).get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]

    # then: soonest first, the one without a due time last
    assert seen == [second.id, third.id, first.id]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=accepted", {"accepted"}),
        ("status=open", {"open", "breached"}),
        ("is_breached=true", {"breached"}),
        ("is_breached=false", {"open", "accepted", "waiting"}),
        ("is_at_risk=true", {"breached"}),
        ("is_waiting=true", {"waiting"}),
        ("is_waiting=false", {"open", "accepted", "breached"}),
    ],
)
def test_the_list_filters(org, admin_user_qualify, alice, query, expected):
    # given
    named = {
        "open": _routed("o@example.de", "DE"),
        "accepted": _routed("a@example.de", "DE"),
        "breached": _routed("b@example.de", "DE"),
    }
    _client(alice).post(f"/api/routing/assignments/{named['accepted'].id}/accept/")
    now = timezone.now()
    Assignment.objects.filter(id=named["breached"].id).update(at_risk_at=now, breached_at=now)
    org["reps"]["alice"].memberships.update(is_active=False)  # nobody left in the German queue: the next one waits
    named["waiting"] = _routed("w@example.de", "DE")
    assert named["waiting"].status == AssignmentStatus.WAITING
    names = {assignment.id: name for name, assignment in named.items()}

    # when
    ids = _ids(_client(admin_user_qualify).get(f"/api/routing/assignments/?{query}"))

    # then
    assert {names[i] for i in ids} == expected


@pytest.mark.parametrize("query", ["status=nope", "rep=abc", "queue=x", "is_breached=perhaps", "is_waiting=2"])
def test_a_bad_filter_value_is_400_naming_the_parameter(work, alice, query):
    # when
    response = _client(alice).get(f"/api/routing/assignments/?{query}")

    # then
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["errors"]


def test_the_rep_filter_narrows_a_managers_list(work, charlie, org):
    # when
    ids = _ids(_client(charlie).get(f"/api/routing/assignments/?rep={org['reps']['bob'].id}"))

    # then
    assert ids == {work["bob"].id}


# --- each action's effect -----------------------------------------------------------------


def test_accepting_makes_the_lead_accepted_and_the_reps(work, alice):
    # given
    assignment = work["alice"]

    # when
    response = _client(alice).post(f"/api/routing/assignments/{assignment.id}/accept/")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"
    lead = Lead.objects.get(id=assignment.lead_id)
    assert lead.stage == Stage.ACCEPTED
    assert lead.owner == alice
    assert _kinds(lead.id) == [ActivityKind.ASSIGNED, ActivityKind.ACCEPTED]
    assert StageChange.objects.filter(lead=lead, to_stage=Stage.ACCEPTED, actor=alice).exists()


def test_rejecting_sends_the_lead_to_nurture_with_the_reason(work, alice):
    # given
    assignment = work["alice"]

    # when
    response = _client(alice).post(f"/api/routing/assignments/{assignment.id}/reject/", {"reason": "A student"})

    # then
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rejected"
    assert response.json()["close_reason"] == "A student"
    assert Lead.objects.get(id=assignment.lead_id).stage == Stage.NURTURE
    change = StageChange.objects.get(lead_id=assignment.lead_id, to_stage=Stage.NURTURE)
    assert "A student" in change.reason
    assert Activity.objects.get(lead_id=assignment.lead_id, kind=ActivityKind.REJECTED).notes == "A student"


@pytest.mark.parametrize(
    ("who", "kind", "stops_the_clock"),
    [
        ("alice", "call", True),
        ("alice", "email", True),
        ("alice", "note", False),
        ("charlie", "call", False),
        ("admin_user_qualify", "email", False),
    ],
)
def test_only_the_assigned_reps_touch_stops_the_clock(work, request, who, kind, stops_the_clock):
    # given
    assignment = work["alice"]
    user = request.getfixturevalue(who)

    # when
    response = _client(user).post(
        f"/api/routing/assignments/{assignment.id}/activities/", {"kind": kind, "notes": "Rang"}
    )

    # then
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == kind
    assignment.refresh_from_db()
    assert (assignment.first_touch_at is not None) is stops_the_clock
    assert Activity.objects.get(lead_id=assignment.lead_id, kind=kind).actor == user


def test_booking_a_meeting_is_a_touch_with_its_time(work, alice):
    # given
    assignment = work["alice"]

    # when
    response = _client(alice).post(
        f"/api/routing/assignments/{assignment.id}/meeting/",
        {"starts_at": "2030-03-04T15:00:00Z", "notes": "Demo"},
        format="json",
    )

    # then
    assert response.status_code == 201, response.content
    activity = Activity.objects.get(lead_id=assignment.lead_id, kind=ActivityKind.MEETING)
    assert activity.detail["starts_at"].startswith("2030-03-04T15:00:00")
    assignment.refresh_from_db()
    assert assignment.first_touch_at is not None


def test_converting_makes_the_lead_sql_and_closes_the_assignment(work, alice):
    # given
    assignment = work["alice"]

    # when
    response = _client(alice).post(f"/api/routing/assignments/{assignment.id}/convert/", {"notes": "Budget ok"})

    # then
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"
    lead = Lead.objects.get(id=assignment.lead_id)
    assert lead.stage == Stage.SQL
    assert lead.owner == alice
    assert ActivityKind.CONVERTED in _kinds(lead.id)


def test_disqualifying_records_the_reason(work, alice):
    # given
    assignment = work["alice"]

    # when
    response = _client(alice).post(f"/api/routing/assignments/{assignment.id}/disqualify/", {"reason": "Competitor"})

    # then
    assert response.status_code == 200, response.content
    assert Lead.objects.get(id=assignment.lead_id).stage == Stage.DISQUALIFIED
    assert Activity.objects.get(lead_id=assignment.lead_id, kind=ActivityKind.DISQUALIFIED).notes == "Competitor"


def test_requesting_reassignment_flags_it_for_the_manager(work, alice, charlie):
    # given
    assignment = work["alice"]

    # when
    response = _client(alice).post(
        f"/api/routing/assignments/{assignment.id}/request-reassignment/", {"reason": "Speaks only French"}
    )

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["reassignment_requested_at"] is not None
    assert body["reassignment_reason"] == "Speaks only French"
    assert body["status"] == "open"
    assert ActivityKind.REASSIGNMENT_REQUESTED in _kinds(assignment.lead_id)
    managers_view = _client(charlie).get(f"/api/routing/assignments/{assignment.id}/").json()
    assert managers_view["reassignment_reason"] == "Speaks only French"


def test_a_manager_reassigns_and_the_old_rep_loses_sight_of_it(work, org, alice, bob, charlie):
    # given
    assignment = work["alice"]

    # when
    response = _client(charlie).post(
        f"/api/routing/assignments/{assignment.id}/reassign/",
        {"to_rep": org["reps"]["bob"].id, "reason": "Alice is overloaded"},
        format="json",
    )

    # then
    assert response.status_code == 200, response.content
    new = response.json()
    assert new["rep"]["id"] == org["reps"]["bob"].id
    assert new["lead"]["id"] == assignment.lead_id
    assert Assignment.objects.get(id=assignment.id).status == AssignmentStatus.REASSIGNED
    assert _client(alice).get(f"/api/routing/assignments/{assignment.id}/").status_code == 404
    assert _ids(_client(alice).get("/api/routing/assignments/")) == set()
    assert new["id"] in _ids(_client(bob).get("/api/routing/assignments/"))
    assert ActivityKind.REASSIGNED in _kinds(assignment.lead_id)
    assert RoutingDecision.objects.filter(lead_id=assignment.lead_id, trigger=RoutingTrigger.REASSIGN).exists()


def test_a_manager_cannot_reassign_to_another_teams_rep(work, org, charlie):
    # when
    response = _client(charlie).post(
        f"/api/routing/assignments/{work['alice'].id}/reassign/",
        {"to_rep": org["reps"]["erin"].id, "reason": "Try the west"},
        format="json",
    )

    # then
    assert response.status_code == 403
    assert Assignment.objects.get(id=work["alice"].id).status == AssignmentStatus.OPEN


def test_a_rep_cannot_reassign_their_own_lead(work, alice):
    # when
    response = _client(alice).post(f"/api/routing/assignments/{work['alice'].id}/reassign/", {"reason": "Bored"})

    # then
    assert response.status_code == 403
    assert Assignment.objects.get(id=work["alice"].id).status == AssignmentStatus.OPEN


def test_an_action_on_a_closed_assignment_is_400_naming_the_status(work, alice):
    # given
    client = _client(alice)
    client.post(f"/api/routing/assignments/{work['alice'].id}/disqualify/", {"reason": "Spam"})

    # when
    response = client.post(f"/api/routing/assignments/{work['alice'].id}/accept/")

    # then
    assert response.status_code == 400
    assert "status" in response.json()["errors"]


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("reject/", {}, "reason"),
        ("reject/", {"reason": "   "}, "reason"),
        ("disqualify/", {"reason": ""}, "reason"),
        ("request-reassignment/", {}, "reason"),
        ("activities/", {"kind": "fax"}, "kind"),
        ("activities/", {"kind": "accepted"}, "kind"),
        ("meeting/", {"notes": "soon"}, "starts_at"),
        ("meeting/", {"starts_at": "next tuesday"}, "starts_at"),
        ("reassign/", {"to_rep": 999999, "reason": "x"}, "to_rep"),
        ("reassign/", {"to_rep": 1}, "reason"),
    ],
)
def test_bad_input_is_400_naming_the_field(work, charlie, action, body, field):
    # given: Charlie may do all of these on Alice's assignment
    assignment = work["alice"]

    # when
    response = _client(charlie).post(f"/api/routing/assignments/{assignment.id}/{action}", body, format="json")

    # then
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.OPEN
    assert _kinds(assignment.lead_id) == [ActivityKind.ASSIGNED]


# --- routing by hand, preview, timeline ---------------------------------------------------


def test_a_manager_routes_a_lead_by_hand_once(org, charlie):
    # given
    lead = Lead.objects.create(email="hans@example.de", country="DE", stage=Stage.MQL)
    client = _client(charlie)

    # when
    first = client.post(f"/api/routing/leads/{lead.id}/route/")
    second = client.post(f"/api/routing/leads/{lead.id}/route/")

    # then
    assert first.status_code == 200, first.content
    assert first.json()["rep"]["id"] == org["reps"]["alice"].id
    assert second.status_code == 409
    assert second.json()["id"] == first.json()["id"]
    decision = RoutingDecision.objects.get(lead=lead)
    assert decision.trigger == RoutingTrigger.MANUAL and decision.actor == charlie


def test_routing_a_lead_past_the_routed_stages_is_400_naming_the_stage(org, admin_user_qualify):
    # given
    lead = Lead.objects.create(email="late@example.de", country="DE", stage=Stage.SQL)

    # when
    response = _client(admin_user_qualify).post(f"/api/routing/leads/{lead.id}/route/")

    # then
    assert response.status_code == 400
    assert "stage" in response.json()["errors"]
    assert not Assignment.objects.filter(lead=lead).exists()


@pytest.mark.parametrize(("who", "status_code"), [("alice", 403), ("olivia", 403), ("charlie", 404)])
def test_routing_by_hand_is_for_managers_and_admins(org, request, who, status_code):
    # given: a lead for the rep and marketing ops; a missing one for the manager
    lead = Lead.objects.create(email="hans@example.de", country="DE", stage=Stage.MQL)
    lead_id = lead.id if status_code == 403 else 999999

    # when
    response = _client(request.getfixturevalue(who)).post(f"/api/routing/leads/{lead_id}/route/")

    # then
    assert response.status_code == status_code
    assert not Assignment.objects.exists()


@pytest.mark.parametrize("who", ["olivia", "charlie", "admin_user_qualify"])
def test_the_preview_explains_the_decision_without_applying_it(org, request, who):
    # given: a French lead: the German rule is checked first and does not match
    lead = Lead.objects.create(email="jean@example.fr", country="FR", stage=Stage.MQL)

    # when
    response = _client(request.getfixturevalue(who)).get(f"/api/routing/leads/{lead.id}/preview/")

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["queue"]["name"] == "France"
    assert body["rep"]["id"] == org["reps"]["bob"].id
    assert body["rule"]["name"] == "FR leads"
    assert [(check["name"], check["matched"]) for check in body["rules"]] == [("DE leads", False), ("FR leads", True)]
    assert all(check["reason"] for check in body["rules"])
    assert [check["rep_name"] for check in body["reps"]] == ["bob"]
    assert "bob" in body["summary"]
    assert not Assignment.objects.exists() and not RoutingDecision.objects.exists()


def test_the_preview_says_why_a_rep_was_skipped(org, charlie):
    # given: Alice is out of office
    now = timezone.now()
    OutOfOffice.objects.create(
        rep=org["reps"]["alice"], starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1)
    )
    lead = Lead.objects.create(email="hans@example.de", country="DE", stage=Stage.MQL)

    # when
    body = _client(charlie).get(f"/api/routing/leads/{lead.id}/preview/").json()

    # then
    assert body["is_waiting"] is True and body["rep"] is None
    (alice_check,) = [check for check in body["reps"] if check["rep_id"] == org["reps"]["alice"].id]
    assert alice_check["is_available"] is False
    assert "out of office" in alice_check["reason"]


def test_a_rep_cannot_preview_routing(org, alice):
    # given
    lead = Lead.objects.create(email="hans@example.de", country="DE", stage=Stage.MQL)

    # when
    response = _client(alice).get(f"/api/routing/leads/{lead.id}/preview/")

    # then
    assert response.status_code == 403


def test_the_timeline_lists_every_action_newest_first(work, alice):
    # given
    assignment = work["alice"]
    client = _client(alice)
    client.post(f"/api/routing/assignments/{assignment.id}/accept/")
    client.post(f"/api/routing/assignments/{assignment.id}/activities/", {"kind": "call", "notes": "Rang"})

    # when
    response = client.get(f"/api/routing/leads/{assignment.lead_id}/timeline/")

    # then
    assert response.status_code == 200, response.content
    entries = [(entry["type"], entry["kind"]) for entry in response.json()]
    assert entries == [
        ("activity", "call"),
        ("stage_change", "accepted"),
        ("activity", "accepted"),
        ("activity", "assigned"),
        ("routing_decision", "qualified"),
    ]
    times = [entry["at"] for entry in response.json()]
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize(("who", "status_code"), [("bob", 404), ("dave", 404), ("charlie", 200), ("olivia", 403)])
def test_the_timeline_is_for_the_rep_their_manager_and_admins(work, org, request, who, status_code):
    # given
    user = org["dave"] if who == "dave" else request.getfixturevalue(who)

    # when
    response = _client(user).get(f"/api/routing/leads/{work['alice'].lead_id}/timeline/")

    # then
    assert response.status_code == status_code


# --- reps: capacity and out of office -----------------------------------------------------


def test_a_manager_sets_their_reps_capacity(org, charlie):
    # given
    alice_rep = org["reps"]["alice"]

    # when
    response = _client(charlie).post(f"/api/routing/reps/{alice_rep.id}/capacity/", {"capacity": 3})

    # then
    assert response.status_code == 200, response.content
    assert response.json()["capacity"] == 3
    alice_rep.refresh_from_db()
    assert alice_rep.capacity == 3


@pytest.mark.parametrize(
    ("body", "field"), [({"capacity": -1}, "capacity"), ({"capacity": "lots"}, "capacity"), ({}, "capacity")]
)
def test_a_bad_capacity_is_400_naming_the_field(org, charlie, body, field):
    # when
    response = _client(charlie).post(f"/api/routing/reps/{org['reps']['alice'].id}/capacity/", body, format="json")

    # then
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Rep.objects.get(id=org["reps"]["alice"].id).capacity == 25


@pytest.mark.parametrize("who", ["dave", "alice"])
def test_only_the_reps_manager_sets_capacity(org, alice, who):
    # given
    user = org["dave"] if who == "dave" else alice

    # when
    response = _client(user).post(f"/api/routing/reps/{org['reps']['alice'].id}/capacity/", {"capacity": 99})

    # then
    assert response.status_code == 403
    assert Rep.objects.get(id=org["reps"]["alice"].id).capacity == 25


def test_a_manager_records_out_of_office(org, charlie):
    # given
    bob_rep = org["reps"]["bob"]

    # when
    response = _client(charlie).post(
        f"/api/routing/reps/{bob_rep.id}/out-of-office/",
        {"starts_at": "2030-07-01T00:00:00Z", "ends_at": "2030-07-15T00:00:00Z", "note": "Holiday"},
        format="json",
    )

    # then
    assert response.status_code == 201, response.content
    absence = OutOfOffice.objects.get(rep=bob_rep)
    assert absence.note == "Holiday" and absence.created_by == charlie


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"starts_at": "2030-07-15T00:00:00Z", "ends_at": "2030-07-01T00:00:00Z"}, "ends_at"),
        ({"starts_at": "2030-07-15T00:00:00Z"}, "ends_at"),
        ({"ends_at": "2030-07-15T00:00:00Z"}, "starts_at"),
    ],
)
def test_a_bad_out_of_office_is_400_naming_the_field(org, charlie, body, field):
    # when
    response = _client(charlie).post(f"/api/routing/reps/{org['reps']['bob'].id}/out-of-office/", body, format="json")

    # then
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not OutOfOffice.objects.exists()


def test_an_unknown_rep_is_404(org, admin_user_qualify):
    # when
    response = _client(admin_user_qualify).post("/api/routing/reps/999999/capacity/", {"capacity": 3})

    # then
    assert response.status_code == 404


def test_the_schema_documents_the_routing_api(client, olivia):
    # given
    client.force_login(olivia)

    # when
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    # then
    assert response.status_code == 200
    paths = set(response.json()["paths"])
    assert {
        "/api/routing/assignments/",
        "/api/routing/assignments/{assignment_id}/reassign/",
        "/api/routing/leads/{lead_id}/preview/",
        "/api/routing/reps/{rep_id}/out-of-office/",
    } <= paths
