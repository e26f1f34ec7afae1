"""The manager's board (/manager/, routing.views.board, routing.selectors.board): who may open it,
what each manager sees, the one-click fixes, and the statistics in business time."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.models import Stage
from routing.engine.sla import add_business_minutes
from routing.models import (
    Assignment,
    AssignmentStatus,
    HolidayCalendar,
    OutOfOffice,
    Rep,
    Team,
    default_working_hours,
)
from routing.selectors.board import board_get, board_period
from routing.services.assignments import lead_route
from scoring.models import LeadScore, RuleVersion
from tests.routing.world import make_lead, make_queue, make_rep, rep_user, rule, sla

pytestmark = [pytest.mark.django_db]

BOARD = "/manager/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def org(django_user_model, charlie, dana):
    """Charlie manages North (Ann and Ben, one round-robin queue for German leads); Dana manages
    South (Erin, French leads). First touch is due within 60 minutes, at risk after 45."""
    north, south = Team.objects.create(name="North", manager=charlie), Team.objects.create(name="South", manager=dana)
    ann = make_rep(rep_user(django_user_model, "ann", first_name="Ann"), north, capacity=10)
    ben = make_rep(rep_user(django_user_model, "ben", first_name="Ben"), north, capacity=10)
    erin = make_rep(rep_user(django_user_model, "erin", first_name="Erin"), south, capacity=10)
    rule("Germany", make_queue("Germany", [ann, ben]), 1, {"field": "lead.country", "op": "eq", "value": "DE"})
    rule("France", make_queue("France", [erin]), 2, {"field": "lead.country", "op": "eq", "value": "FR"})
    sla(Stage.MQL, minutes=60, warning=45)
    return {"ann": ann, "ben": ben, "erin": erin, "now": timezone.now()}


def _routed(name: str, *, country="DE", due_in=None, warn_in=None, **fields) -> Assignment:
    """A lead routed by the rules, its SLA clock then set `due_in` / `warn_in` minutes from now."""
    lead = make_lead(f"{name.lower()}@example.com", first_name=name, country=country, **fields)
    assignment = lead_route(lead_id=lead.id, trigger="qualified")
    now = timezone.now()
    clock = {}
    if due_in is not None:
        clock["due_at"] = now + timedelta(minutes=due_in)
    if warn_in is not None:
        clock["warn_at"] = now + timedelta(minutes=warn_in)
    if clock:
        Assignment.objects.filter(id=assignment.id).update(**clock)
    assignment.refresh_from_db()
    return assignment


def _breached(name: str, **kwargs) -> Assignment:
    return _routed(name, due_in=-10, warn_in=-25, **kwargs)


# --- Who may open it ----------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "olivia"], ids=["rep", "marketing-ops"])
def test_reps_and_marketing_ops_may_not_open_the_board(client, request, org, persona):
    # given
    client.force_login(request.getfixturevalue(persona))

    # when
    response = client.get(BOARD)

    # then
    assert response.status_code == 403


def test_a_manager_sees_only_their_teams_reps_and_breaches(client, org, charlie):
    # given
    ada = _breached("Ada")
    _breached("Zoe", country="FR")
    client.force_login(charlie)

    # when
    response = client.get(BOARD)

    # then
    board = response.context["board"]
    assert response.status_code == 200
    assert {row.rep for row in board.reps} == {org["ann"], org["ben"]}
    assert [row.assignment.id for row in board.sla.rows] == [ada.id]
    html = response.content.decode()
    assert "Ada" in html and "Zoe" not in html and "Erin" not in html
    assert reverse("routing:lead_workspace", args=[ada.lead_id]) in html


def test_an_admin_sees_every_rep_and_breach(client, org, admin_user_qualify):
    # given
    _breached("Ada")
    _breached("Zoe", country="FR")
    client.force_login(admin_user_qualify)

    # when
    board = client.get(BOARD).context["board"]

    # then
    assert {row.rep for row in board.reps} == {org["ann"], org["ben"], org["erin"]}
    assert {str(row.assignment.lead) for row in board.sla.rows} == {"Ada", "Zoe"}


def test_the_reassign_choice_offers_the_other_reps_of_the_holders_team(client, org, admin_user_qualify):
    # given: the admin sees both teams; Ada's lead is with a rep of North
    ada = _breached("Ada")
    client.force_login(admin_user_qualify)

    # when
    page = client.get(BOARD).content.decode()

    # then: North's other rep is offered, not the holder, not South's Erin
    select = page[page.index(f'id="reassign-{ada.id}"') :]
    select = select[: select.index("</select>")]
    others = {org["ann"], org["ben"]} - {ada.rep}
    assert [f'value="{rep.id}"' in select for rep in others] == [True]
    assert f'value="{ada.rep_id}"' not in select
    assert f'value="{org["erin"].id}"' not in select


def test_breaches_come_before_at_risk_rows_most_overdue_first(client, org, charlie):
    # given
    at_risk = _routed("Risky", due_in=10, warn_in=-5)
    _routed("Calm", due_in=50, warn_in=35)
    late = _breached("Late")
    later = _routed("Later", due_in=-40, warn_in=-55)
    client.force_login(charlie)

    # when
    board = client.get(BOARD).context["board"]

    # then
    assert [row.assignment.id for row in board.sla.rows] == [later.id, late.id, at_risk.id]
    assert (board.sla.breached, board.sla.at_risk) == (2, 1)


# --- Reassign in one click ---------------------------------------------------------------


def test_reassigning_a_breach_gives_it_to_the_next_rep_and_the_row_says_so(client, org, charlie):
    # given
    breach = _breached("Ada")
    other = org["ben"] if breach.rep == org["ann"] else org["ann"]
    client.force_login(charlie)

    # when
    response = client.post(reverse("routing:board_reassign", args=[breach.id]), {"to_rep": ""}, **HTMX)

    # then
    assert response.status_code == 200
    assert f"Ada reassigned to {other}" in response.content.decode()
    breach.refresh_from_db()
    assert breach.status == AssignmentStatus.REASSIGNED
    new = Assignment.objects.get(lead_id=breach.lead_id, status=AssignmentStatus.OPEN)
    assert new.rep == other
    assert client.get(BOARD).context["board"].sla.rows == []


def test_reassigning_to_a_chosen_rep_gives_the_lead_to_that_rep(client, org, charlie, django_user_model):
    # given: Carl is on Charlie's team but not in the German queue
    carl = make_rep(rep_user(django_user_model, "carl", first_name="Carl"), Team.objects.get(name="North"))
    breach = _breached("Ada")
    client.force_login(charlie)

    # when
    response = client.post(reverse("routing:board_reassign", args=[breach.id]), {"to_rep": carl.id}, **HTMX)

    # then
    assert response.status_code == 200
    assert Assignment.objects.get(lead_id=breach.lead_id, status=AssignmentStatus.OPEN).rep == carl


def test_a_plain_post_reassigns_and_redirects_back_to_the_board(client, org, charlie):
    # given
    breach = _breached("Ada")
    client.force_login(charlie)

    # when
    response = client.post(
        reverse("routing:board_reassign", args=[breach.id]), {"to_rep": "", "period": "last_week"}, follow=True
    )

    # then
    assert response.redirect_chain == [(f"{BOARD}?period=last_week", 302)]
    assert "Ada reassigned to" in response.content.decode()
    assert response.context["board"].sla.rows == []


def test_reassigning_a_lead_in_a_terminal_stage_is_refused_with_the_services_message(client, org, charlie):
    # given: the lead was won, its assignment somehow still open
    breach = _breached("Ada")
    type(breach.lead).objects.filter(id=breach.lead_id).update(stage=Stage.WON)
    client.force_login(charlie)

    # when
    response = client.post(reverse("routing:board_reassign", args=[breach.id]), {"to_rep": ""}, **HTMX)

    # then: nothing happened, and the row says why
    assert response.status_code == 409
    assert "a closed lead is not handed to another rep" in response.content.decode()
    breach.refresh_from_db()
    assert breach.status == AssignmentStatus.OPEN
    assert Assignment.objects.filter(lead_id=breach.lead_id).count() == 1


def test_another_teams_assignment_cannot_be_reassigned_from_the_board(client, org, charlie):
    # given
    theirs = _breached("Zoe", country="FR")
    client.force_login(charlie)

    # when
    response = client.post(reverse("routing:board_reassign", args=[theirs.id]), {"to_rep": ""}, **HTMX)

    # then
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == AssignmentStatus.OPEN


def test_a_manager_cannot_hand_a_lead_to_another_teams_rep(client, org, charlie):
    # given
    breach = _breached("Ada")
    client.force_login(charlie)

    # when
    response = client.post(reverse("routing:board_reassign", args=[breach.id]), {"to_rep": org["erin"].id}, **HTMX)

    # then
    assert response.status_code == 400
    assert Assignment.objects.get(id=breach.id).status == AssignmentStatus.OPEN


def test_reassigning_when_nobody_else_is_free_leaves_the_lead_waiting_and_says_so(client, org, charlie):
    # given: Ben is away, so Ann's lead has nobody to go to
    breach = _breached("Ada")
    other = org["ben"] if breach.rep == org["ann"] else org["ann"]
    Rep.objects.filter(id=other.id).update(is_active=False)
    client.force_login(charlie)

    # when
    response = client.post(reverse("routing:board_reassign", args=[breach.id]), {"to_rep": ""}, **HTMX)

    # then: the header's counts come along, out of band
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nobody else is available: Ada waits in Germany." in html
    assert 'id="board-counts"' in html and 'hx-swap-oob="true"' in html
    assert Assignment.objects.get(lead_id=breach.lead_id, status=AssignmentStatus.WAITING).rep is None


def test_reassigning_to_the_rep_who_holds_it_is_refused(client, org, charlie):
    # given
    breach = _breached("Ada")
    client.force_login(charlie)

    # when
    response = client.post(reverse("routing:board_reassign", args=[breach.id]), {"to_rep": breach.rep_id}, **HTMX)

    # then
    assert response.status_code == 400
    assert "is already" in response.content.decode()
    assert Assignment.objects.filter(lead_id=breach.lead_id).count() == 1


# --- Capacity and out of office from the row ----------------------------------------------


def test_a_manager_sets_a_reps_capacity_from_the_row(client, org, charlie):
    # given
    ann = org["ann"]
    client.force_login(charlie)

    # when
    response = client.post(reverse("routing:board_rep_capacity", args=[ann.id]), {f"rep{ann.id}-capacity": "4"}, **HTMX)

    # then
    assert response.status_code == 200
    assert "capacity set to 4" in response.content.decode()
    assert Rep.objects.get(id=ann.id).capacity == 4


@pytest.mark.parametrize("value", ["-1", "ten", "", "10001"])
def test_an_invalid_capacity_is_refused_next_to_the_field(client, org, charlie, value):
    # given
    ann = org["ann"]
    client.force_login(charlie)

    # when
    response = client.post(
        reverse("routing:board_rep_capacity", args=[ann.id]), {f"rep{ann.id}-capacity": value}, **HTMX
    )

    # then
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_rep{ann.id}-capacity-error"' in html and 'aria-invalid="true"' in html
    assert Rep.objects.get(id=ann.id).capacity == 10


def test_a_manager_adds_an_out_of_office_period_from_the_row(client, org, charlie):
    # given
    ann = org["ann"]
    client.force_login(charlie)
    starts = timezone.now() + timedelta(days=2)
    data = {
        f"rep{ann.id}-starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        f"rep{ann.id}-ends_at": (starts + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        f"rep{ann.id}-note": "Conference",
    }

    # when
    response = client.post(reverse("routing:board_rep_out_of_office", args=[ann.id]), data, **HTMX)

    # then
    assert response.status_code == 200
    absence = OutOfOffice.objects.get(rep=ann)
    assert (absence.note, absence.created_by, absence.ends_at - absence.starts_at) == (
        "Conference",
        charlie,
        timedelta(days=3),
    )
    assert "Next:" in response.content.decode()


def test_an_out_of_office_period_that_ends_before_it_starts_is_refused_next_to_the_field(client, org, charlie):
    # given
    ann = org["ann"]
    client.force_login(charlie)
    data = {f"rep{ann.id}-starts_at": "2026-12-10T09:00", f"rep{ann.id}-ends_at": "2026-12-09T09:00"}

    # when
    response = client.post(reverse("routing:board_rep_out_of_office", args=[ann.id]), data, **HTMX)

    # then
    assert response.status_code == 400
    assert f'id="id_rep{ann.id}-ends_at-error"' in response.content.decode()
    assert not OutOfOffice.objects.exists()


def test_a_plain_post_with_an_invalid_capacity_shows_the_board_with_the_error(client, org, charlie):
    # given
    ann = org["ann"]
    client.force_login(charlie)

    # when
    response = client.post(reverse("routing:board_rep_capacity", args=[ann.id]), {f"rep{ann.id}-capacity": "-3"})

    # then
    assert response.status_code == 400
    assert f'id="id_rep{ann.id}-capacity-error"' in response.content.decode()


def test_another_teams_rep_cannot_be_changed_from_the_board(client, org, charlie):
    # given
    erin = org["erin"]
    client.force_login(charlie)

    # when
    response = client.post(
        reverse("routing:board_rep_capacity", args=[erin.id]), {f"rep{erin.id}-capacity": "1"}, **HTMX
    )

    # then
    assert response.status_code == 404
    assert Rep.objects.get(id=erin.id).capacity == 10


# --- Statistics in business time ---------------------------------------------------------

# Friday 27 November 2026, 15:00 UTC; the week began Monday the 23rd. Ann works 09:00-17:00 UTC on weekdays.
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def history(org):
    """Ann's week, by hand: (assigned, first touch) pairs whose business minutes are known."""
    ann = Rep.objects.get(id=org["ann"].id)
    Rep.objects.filter(id=ann.id).update(working_hours=default_working_hours())
    Rep.objects.filter(id=org["ben"].id).update(is_active=False)
    hours = default_working_hours()
    touches = [
        (_at(23, 9, 0), _at(23, 9, 2)),  # 2 min: met
        (_at(23, 16, 50), _at(24, 9, 20)),  # 10 + 20 = 30 min overnight (16 h 30 on the wall): met
        (_at(24, 10, 0), _at(24, 10, 45)),  # 45 min: met
        (_at(24, 16, 30), _at(25, 10, 0)),  # 30 + 60 = 90 min: late (due Wednesday 09:30)
        (_at(25, 11, 0), _at(25, 11, 10)),  # 10 min: met
        (_at(26, 9, 0), None),  # untouched, due Thursday 10:00: breached
        (_at(26, 12, 0), None),  # rejected at 12:05, before its due time: a rejection, not a breach
        (_at(16, 9, 0), _at(16, 15, 0)),  # last week: not in this week's figures
    ]
    for index, (assigned_at, first_touch_at) in enumerate(touches):
        assignment = _routed(f"Lead{index}")
        fields = {
            "rep": ann,
            "assigned_at": assigned_at,
            "first_touch_at": first_touch_at,
            "due_at": add_business_minutes(assigned_at, 60, hours, "UTC"),
            "warn_at": add_business_minutes(assigned_at, 45, hours, "UTC"),
        }
        if index == 6:
            fields.update(status=AssignmentStatus.REJECTED, closed_at=_at(26, 12, 5))
        Assignment.objects.filter(id=assignment.id).update(**fields)
    return ann


def test_the_weeks_statistics_are_counted_in_business_time(history, charlie):
    # when
    board = board_get(user=charlie, period=board_period(None, now=NOW), now=NOW)

    # then: first touches of 2, 10, 30, 45 and 90 business minutes
    (ann,) = board.reps
    assert (ann.assigned, ann.touched, ann.median_minutes, ann.p90_minutes) == (7, 5, 30, 90)
    assert (ann.met, ann.breaches, ann.decided, ann.within_sla_percent, ann.rejections) == (4, 2, 6, 67, 1)
    assert ann.open == 7  # touching does not close: six open this week and last week's
    assert board.charts["first_touch"].datasets == {"Assignments": [1, 1, 2, 1, 0, 0]}
    assert board.charts["routed"].datasets == {"Assigned": [7]}
    per_day = board.charts["sla_per_day"]
    assert per_day.labels[:5] == ["Mon 23 Nov", "Tue 24 Nov", "Wed 25 Nov", "Thu 26 Nov", "Fri 27 Nov"]
    assert per_day.datasets == {"Met": [2, 1, 1, 0, 0], "Missed": [0, 1, 0, 1, 0]}


def test_the_live_board_says_how_late_in_business_time(history, charlie):
    # when: Thursday's untouched lead was due Thursday 10:00; it is Friday 15:00
    board = board_get(user=charlie, period=board_period(None, now=NOW), now=NOW)

    # then: 7 working hours on Thursday after 10:00 and 6 on Friday: 13 h late, 14 h old
    (row,) = board.sla.rows
    assert (row.state, row.late_minutes, row.age_minutes) == ("breached", 13 * 60, 14 * 60)


def test_last_weeks_statistics_leave_this_week_out(history, charlie):
    # when
    board = board_get(user=charlie, period=board_period("last_week", now=NOW), now=NOW)

    # then: Monday 16th, 09:00 to 15:00 is six business hours, and late
    (ann,) = board.reps
    assert (ann.assigned, ann.median_minutes, ann.p90_minutes, ann.breaches, ann.met) == (1, 360, 360, 1, 0)


def test_an_unknown_period_is_a_bad_request(client, org, charlie):
    # given
    client.force_login(charlie)

    # when
    response = client.get(BOARD, {"period": "forever"})

    # then
    assert response.status_code == 400


def test_the_board_shows_the_period_chosen(client, org, charlie):
    # given
    client.force_login(charlie)

    # when
    response = client.get(BOARD, {"period": "last_30_days"})

    # then
    assert response.status_code == 200
    assert response.context["board"].period.key == "last_30_days"
    assert "Reps · last 30 days" in response.content.decode()


# --- Fallback queue and leads below threshold ----------------------------------------------


def test_the_fallback_queue_and_the_leads_below_threshold_are_listed_with_counts(client, org, charlie):
    # given: a lead no rule matches, and one of Ann's qualified leads whose score decayed
    nowhere = make_lead("nowhere@example.com", first_name="Nowhere", country="JP")
    lead_route(lead_id=nowhere.id, trigger="qualified")
    decayed = _routed("Decayed")
    version = RuleVersion.objects.create(number=1, name="Default")
    LeadScore.objects.create(
        lead=decayed.lead, version=version, total=12, is_below_threshold_since_qualification=True, computed_at=NOW
    )
    theirs = _routed("Theirs", country="FR")
    LeadScore.objects.create(
        lead=theirs.lead, version=version, total=13, is_below_threshold_since_qualification=True, computed_at=NOW
    )
    client.force_login(charlie)

    # when
    response = client.get(BOARD)

    # then
    board = response.context["board"]
    assert [assignment.lead for assignment in board.fallback.rows] == [nowhere] and board.fallback.count == 1
    assert [score.lead for score in board.below_threshold.rows] == [decayed.lead]
    assert board.below_threshold.count == 1
    html = response.content.decode()
    assert reverse("routing:lead_workspace", args=[nowhere.id]) in html
    assert reverse("routing:lead_workspace", args=[decayed.lead_id]) in html


# --- Bounded queries ---------------------------------------------------------------------


def _team_world(django_user_model, team: Team, *, reps: int, assignments: int, start: int) -> None:
    calendar = HolidayCalendar.objects.get_or_create(name="Holidays")[0]
    calendar.holidays.get_or_create(date=datetime(2026, 12, 25).date(), name="Christmas")
    members = [
        make_rep(rep_user(django_user_model, f"rep{start + n}"), team, capacity=50, holiday_calendar=calendar)
        for n in range(reps)
    ]
    for rep in members:
        OutOfOffice.objects.create(
            rep=rep, starts_at=timezone.now() + timedelta(days=3), ends_at=timezone.now() + timedelta(days=4)
        )
    queue = make_queue(f"Queue {start}", members)
    rule(f"Rule {start}", queue, start, {"field": "lead.country", "op": "eq", "value": f"C{start}"})
    for n in range(assignments):
        assignment = _routed(f"L{start}x{n}", country=f"C{start}", due_in=-5 if n % 3 == 0 else 30)
        if n % 4 == 1:
            Assignment.objects.filter(id=assignment.id).update(first_touch_at=timezone.now())


def test_the_board_takes_the_same_number_of_queries_for_a_bigger_team(client, org, charlie, django_user_model):
    # given: Ann, Ben and one more rep on Charlie's team, 10 assignments
    north = Team.objects.get(name="North")
    _team_world(django_user_model, north, reps=1, assignments=10, start=100)
    client.force_login(charlie)
    client.get(BOARD)  # the session and content types are cached after the first request
    with CaptureQueriesContext(connection) as small:
        assert client.get(BOARD).status_code == 200
    small_rows = len(client.get(BOARD).context["board"].sla.rows)

    # when: 12 reps and 120 assignments
    _team_world(django_user_model, north, reps=9, assignments=110, start=200)
    with CaptureQueriesContext(connection) as big:
        response = client.get(BOARD)

    # then
    assert len(response.context["board"].sla.rows) > small_rows
    assert len(response.context["board"].reps) == 12
    assert Assignment.objects.filter(rep__team=north).count() == 120
    assert len(big.captured_queries) == len(small.captured_queries), [q["sql"][:120] for q in big.captured_queries]


def test_the_live_sla_board_refreshes_itself_with_the_header_counts_out_of_band(client, org, charlie):
    # given: the page's SLA section polls the board for itself
    ada = _breached("Ada")
    client.force_login(charlie)
    page = client.get(BOARD).content.decode()
    assert 'id="sla-board"' in page and 'hx-trigger="every 60s"' in page

    # when: a minute later Ada was touched, and Ben's lead has just breached
    Assignment.objects.filter(id=ada.id).update(first_touch_at=timezone.now())
    _breached("Bea")
    refresh = client.get(BOARD, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="sla-board")

    # then: the section alone, with the new breach, and the counts swapped out of band
    html = refresh.content.decode()
    assert refresh.status_code == 200
    assert "Bea" in html and "Ada" not in html
    assert "Reps ·" not in html and "<html" not in html
    assert 'id="board-counts"' in html and 'hx-swap-oob="true"' in html


def test_the_sla_board_refresh_is_refused_to_a_rep(client, org, alice):
    # when
    client.force_login(alice)
    refresh = client.get(BOARD, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="sla-board")

    # then
    assert refresh.status_code == 403


def test_a_reps_change_panel_comes_when_opened_as_a_fragment_or_as_a_page(client, org, charlie):
    # given: the board carries a link to each rep's panel, not the forms themselves
    client.force_login(charlie)
    board = client.get(BOARD).content.decode()
    ann = org["ann"]
    assert f'hx-get="/manager/reps/{ann.id}/' in board and 'hx-trigger="toggle once"' in board
    assert f'name="rep{ann.id}-capacity"' not in board

    # when: htmx opens it, or a browser without JavaScript follows the link
    fragment = client.get(f"/manager/reps/{ann.id}/", HTTP_HX_REQUEST="true").content.decode()
    page = client.get(f"/manager/reps/{ann.id}/").content.decode()

    # then: the forms, with the rep's capacity; the page is a whole page posting plainly
    assert f'name="rep{ann.id}-capacity"' in fragment and 'value="10"' in fragment and "<html" not in fragment
    assert f'name="rep{ann.id}-capacity"' in page and "<html" in page and "hx-post" not in page


def test_another_teams_rep_panel_is_a_404_and_a_reps_is_a_403(client, org, charlie, alice):
    # when
    client.force_login(charlie)
    other_team = client.get(f"/manager/reps/{org['erin'].id}/")
    client.force_login(alice)
    as_rep = client.get(f"/manager/reps/{org['ann'].id}/")

    # then
    assert (other_team.status_code, as_rep.status_code) == (404, 403)
