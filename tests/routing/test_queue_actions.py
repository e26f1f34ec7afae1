"""The rep's one-click actions on the queue (routing/views/actions.py): accept, log a touch,
reject for a reason from the list. htmx gets the rows region back (order and counts
re-read), a plain POST is redirected to a safe `next`; refusals are said in words, 4xx."""

import pytest
from django.db import connection
from django.template import RequestContext, Template
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Stage
from routing.models import Activity, ActivityKind, Assignment, AssignmentStatus
from routing.services.actions import REJECTION_REASONS
from tests.routing.test_queue import _assigned, desk  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db]

HTMX = {"HTTP_HX_REQUEST": "true"}


def _url(name: str, assignment) -> str:
    return f"/assignments/{assignment.id}/{name}/"


def test_a_rep_accepts_their_row_and_htmx_gets_the_rows_and_counts_back(client, desk):  # noqa: F811
    # given
    ada = _assigned(desk, "ada", sla="at_risk")
    client.force_login(desk["ann"].user)

    # when
    response = client.post(_url("accept", ada), {"next": "/queue/"}, **HTMX)

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert Assignment.objects.get(id=ada.id).status == AssignmentStatus.ACCEPTED
    assert f'id="assignment-{ada.id}"' in html and "Accepted (SAL)" in html
    assert 'id="queue-counts" aria-label="Queue counts" hx-swap-oob="true"' in html
    assert "<strong>1</strong> at risk" in html
    assert "Accepted ada" in html and 'id="queue-status" hx-swap-oob="innerHTML"' in html
    assert "<html" not in html  # the region, not a page


def test_logging_the_first_call_stops_the_sla_clock_the_row_shows_touched_and_the_counts_drop(client, desk):  # noqa: F811
    # given
    ada = _assigned(desk, "ada", sla="breached")
    client.force_login(desk["ann"].user)

    # when
    response = client.post(_url("log", ada), {"kind": "call", "next": "/queue/"}, **HTMX)

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert Assignment.objects.get(id=ada.id).first_touch_at is not None
    assert Activity.objects.filter(assignment=ada, kind=ActivityKind.CALL).count() == 1
    assert '<span class="chip sla-touched">✓ Touched</span>' in html
    assert "<strong>0</strong> breached" in html and "<strong>1</strong> open" in html
    assert "Call logged" in html


@pytest.mark.parametrize(
    ("action", "data"),
    [("accept", {}), ("log", {"kind": "call"}), ("reject", {"reason": "No budget"})],
)
@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
def test_a_rep_acting_on_another_reps_assignment_gets_404_and_nothing_happens(client, desk, action, data, headers):  # noqa: F811
    # given: Bruno is Ben's
    bruno = _assigned(desk, "bruno", country="FR")
    client.force_login(desk["ann"].user)

    # when
    response = client.post(_url(action, bruno), data, **headers)

    # then
    assert response.status_code == 404
    bruno.refresh_from_db()
    assert bruno.status == AssignmentStatus.OPEN and bruno.first_touch_at is None
    assert not Activity.objects.filter(assignment=bruno, actor=desk["ann"].user).exists()


@pytest.mark.parametrize("reason", ["", "Because I said so", "no budget"])
def test_rejecting_needs_a_reason_from_the_list(client, desk, reason):  # noqa: F811
    # given
    ada = _assigned(desk, "ada")
    client.force_login(desk["ann"].user)

    # when
    response = client.post(_url("reject", ada), {"reason": reason, "next": "/queue/"}, **HTMX)

    # then: the rows come back with the refusal in words, and nothing changed
    html = response.content.decode()
    assert response.status_code == 400
    assert "Pick" in html and "queue-message is-error" in html
    assert f'id="assignment-{ada.id}"' in html
    assert Assignment.objects.get(id=ada.id).status == AssignmentStatus.OPEN


def test_rejecting_for_a_listed_reason_sends_the_lead_to_nurture_and_out_of_the_queue(client, desk):  # noqa: F811
    # given
    ada = _assigned(desk, "ada")
    keep = _assigned(desk, "grace")
    client.force_login(desk["ann"].user)

    # when
    response = client.post(_url("reject", ada), {"reason": "Wrong contact", "next": "/queue/"}, **HTMX)

    # then
    html = response.content.decode()
    ada.refresh_from_db()
    ada.lead.refresh_from_db()
    assert response.status_code == 200
    assert ada.status == AssignmentStatus.REJECTED and ada.close_reason == "Wrong contact"
    assert ada.lead.stage == Stage.NURTURE
    assert f'id="assignment-{ada.id}"' not in html and f'id="assignment-{keep.id}"' in html
    assert "<strong>1</strong> open" in html and "back to nurture" in html


def test_the_reject_picker_offers_exactly_the_listed_reasons(client, desk):  # noqa: F811
    _assigned(desk, "ada")
    client.force_login(desk["ann"].user)

    html = client.get("/queue/").content.decode()

    for reason in REJECTION_REASONS:
        assert f'<option value="{reason}">{reason}</option>' in html


def test_a_plain_post_redirects_to_next_and_the_page_confirms(client, desk):  # noqa: F811
    # given
    ada = _assigned(desk, "ada")
    client.force_login(desk["ann"].user)

    # when
    response = client.post(_url("accept", ada), {"next": "/queue/?sla_state=on_track"}, follow=True)

    # then
    assert response.redirect_chain == [("/queue/?sla_state=on_track", 302)]
    html = response.content.decode()
    assert 'role="status" aria-live="polite"><p class="queue-message">✓ Accepted ada</p>' in html


def test_a_plain_post_from_the_lead_page_goes_back_there(client, desk):  # noqa: F811
    ada = _assigned(desk, "ada")
    client.force_login(desk["ann"].user)

    response = client.post(_url("log", ada), {"kind": "email", "next": f"/leads/{ada.lead_id}/"})

    assert response.status_code == 302 and response["Location"] == f"/leads/{ada.lead_id}/"
    assert Assignment.objects.get(id=ada.id).first_touch_at is not None


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/queue/", ""])
def test_an_unsafe_or_missing_next_falls_back_to_the_queue(client, desk, next_url):  # noqa: F811
    ada = _assigned(desk, "ada")
    client.force_login(desk["ann"].user)

    response = client.post(_url("accept", ada), {"next": next_url})

    assert response.status_code == 302 and response["Location"] == "/queue/"


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
def test_accepting_an_assignment_already_accepted_is_refused_in_words_with_400(client, desk, headers):  # noqa: F811
    # given
    ada = _assigned(desk, "ada", status=AssignmentStatus.ACCEPTED)
    client.force_login(desk["ann"].user)

    # when
    response = client.post(_url("accept", ada), {"next": "/queue/"}, **headers)

    # then
    assert response.status_code == 400
    assert "The assignment is accepted; this needs it open." in response.content.decode()


def test_logging_an_unknown_kind_is_refused_with_400(client, desk):  # noqa: F811
    ada = _assigned(desk, "ada")
    client.force_login(desk["ann"].user)

    response = client.post(_url("log", ada), {"kind": "telegram"}, **HTMX)

    assert response.status_code == 400 and Assignment.objects.get(id=ada.id).first_touch_at is None


def test_a_manager_acting_from_a_reps_queue_gets_that_queue_back(client, desk, charlie):  # noqa: F811
    # given
    ada = _assigned(desk, "ada")
    client.force_login(charlie)

    # when
    response = client.post(_url("accept", ada), {"next": f"/queue/?rep={desk['ann'].id}"}, **HTMX)

    # then
    assert response.status_code == 200 and f'id="assignment-{ada.id}"' in response.content.decode()
    assert Assignment.objects.get(id=ada.id).status == AssignmentStatus.ACCEPTED


def test_actions_take_only_post(client, desk):  # noqa: F811
    ada = _assigned(desk, "ada")
    client.force_login(desk["ann"].user)

    assert client.get(_url("accept", ada)).status_code == 405


def test_the_minute_poll_answers_the_rows_with_the_counts_out_of_band(client, desk):  # noqa: F811
    # given
    _assigned(desk, "ada", sla="breached")
    client.force_login(desk["ann"].user)

    # when
    response = client.get("/queue/?sla_state=breached", **HTMX)

    # then
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "<strong>1</strong> breached" in html and 'hx-swap-oob="true"' in html
    assert "HX-Request" in response["Vary"]


def test_the_page_polls_its_rows_every_minute_keeping_its_filters(client, desk):  # noqa: F811
    client.force_login(desk["ann"].user)

    html = client.get("/queue/?sla_state=at_risk").content.decode()

    assert '<div id="queue-rows" hx-get="/queue/?sla_state=at_risk" hx-trigger="every 60s"' in html


def test_a_manager_without_a_rep_picks_one_of_their_reps_queues(client, desk, charlie):  # noqa: F811
    # given
    _assigned(desk, "ada", sla="breached")
    client.force_login(charlie)

    # when
    response = client.get("/queue/")

    # then: Ann (Charlie's) is listed with her counts; Ben (not Charlie's) is not
    html = response.content.decode()
    assert response.status_code == 200
    assert f'href="/queue/?rep={desk["ann"].id}"' in html and f"?rep={desk['ben'].id}" not in html
    assert "✕ 1" in html


@pytest.mark.parametrize("row_count", [3, 30])
def test_the_queue_page_takes_the_same_number_of_queries_however_many_rows(client, desk, row_count):  # noqa: F811
    # given: rows in every state, some touched, each with a last touch
    states = ["breached", "at_risk", "on_track"]
    for number in range(row_count):
        assignment = _assigned(desk, f"lead{number}", sla=states[number % 3], score=number)
        Activity.objects.create(lead_id=assignment.lead_id, kind=ActivityKind.CALL, at=timezone.now())
    client.force_login(desk["ann"].user)
    client.get("/queue/")  # warm the session and the content types

    # when
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/queue/")

    # then
    assert response.status_code == 200 and response.content.decode().count('class="queue-row') == row_count
    assert len(queries) == EXPECTED_PAGE_QUERIES, [query["sql"][:120] for query in queries]


# session, user, groups (role), source choices, counts, rows, the rep's calendar
EXPECTED_PAGE_QUERIES = 7


def test_the_actions_partial_works_on_any_page_as_plain_forms_that_come_back(rf, desk):  # noqa: F811
    # given: a page that is not the queue (the lead workspace includes the partial like this)
    ada = _assigned(desk, "ada")
    request = rf.get(f"/leads/{ada.lead_id}/")
    request.user = desk["ann"].user
    template = Template('{% include "routing/assignment_actions.html" with assignment=assignment %}')

    # when
    html = template.render(RequestContext(request, {"assignment": ada}))

    # then: plain POSTs back to the page, no htmx swap of a queue that is not there
    assert f'action="/assignments/{ada.id}/accept/"' in html and f'action="/assignments/{ada.id}/log/"' in html
    assert f'action="/assignments/{ada.id}/reject/"' in html
    assert f'name="next" value="/leads/{ada.lead_id}/"' in html
    assert "hx-post" not in html and "csrfmiddlewaretoken" in html
