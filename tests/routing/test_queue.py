"""The rep's queue: one order (routing.selectors.queue.assignment_queue_for_rep), the same on
/queue/ and GET /api/routing/queue/, only the rep's own open and accepted work."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Source, SourceKind, Stage
from routing.models import Activity, ActivityKind, Assignment, AssignmentStatus
from routing.selectors.queue import QueueFilters, assignment_queue_counts, assignment_queue_for_rep
from routing.services.assignments import lead_route
from scoring.models import LeadScore, RuleVersion
from tests.routing.world import make_lead, make_queue, make_rep, rep_user, rule

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def desk(django_user_model, charlie):
    """Ann (managed by Charlie) and Ben each work their own queue: German and French leads."""
    ann = make_rep(rep_user(django_user_model, "ann"), manager=charlie, capacity=100)
    ben = make_rep(rep_user(django_user_model, "ben"))
    rule("Germany", make_queue("Germany", [ann]), 1, {"field": "lead.country", "op": "eq", "value": "DE"})
    rule("France", make_queue("France", [ben]), 2, {"field": "lead.country", "op": "eq", "value": "FR"})
    version = RuleVersion.objects.create(number=1, name="Default")
    # One instant for every clock a test sets, so equal due times are equal.
    return {"ann": ann, "ben": ben, "version": version, "now": timezone.now()}


# SLA state -> (minutes until at risk, minutes until due), relative to now.
CLOCKS = {"breached": (-30, -10), "at_risk": (-5, 10), "on_track": (30, 60)}


def _assigned(
    desk, name: str, *, sla="on_track", pql=False, hot=False, score=50, due=None, country="DE", title="", **extra
):
    """A lead routed to Ann (or Ben for FR), scored, with its SLA clock set to `sla` (or due in `due` minutes)."""
    lead = make_lead(
        f"{name}@example.com", first_name=name, stage=Stage.PQL if pql else Stage.MQL, country=country, title=title
    )
    LeadScore.objects.create(
        lead=lead,
        version=desk["version"],
        total=score,
        grade="B",
        is_hot=hot,
        pql_path="Activated" if pql else "",
        why=f"why {name}",
        computed_at=timezone.now(),
    )
    assignment = lead_route(lead_id=lead.id, trigger="qualified")
    warn_in, due_in = CLOCKS[sla] if due is None else (due - 10, due)
    now = desk["now"]
    fields = {"warn_at": now + timedelta(minutes=warn_in), "due_at": now + timedelta(minutes=due_in), **extra}
    Assignment.objects.filter(id=assignment.id).update(**fields)
    return assignment


# In creation order (ids ascending); each row: name, then its attributes.
ROWS = [
    ("tie_first", {"sla": "breached", "score": 80}),
    ("on_track_due_60_mql", {"due": 60}),
    ("at_risk_mql", {"sla": "at_risk", "score": 99}),
    ("touched", {"due": 5, "first_touch_at": timezone.now()}),
    ("breached_mql_hot", {"sla": "breached", "hot": True, "score": 10}),
    ("on_track_due_60_pql", {"due": 60, "pql": True}),
    ("breached_pql", {"sla": "breached", "pql": True, "score": 1}),
    ("at_risk_pql", {"sla": "at_risk", "pql": True, "score": 5}),
    ("on_track_due_20_mql", {"due": 20}),
    ("breached_mql_90", {"sla": "breached", "score": 90}),
    ("tie_second", {"sla": "breached", "score": 80}),
    ("at_risk_mql_hot", {"sla": "at_risk", "hot": True, "score": 1}),
]
EXPECTED_ORDER = [
    "breached_pql",
    "breached_mql_hot",
    "breached_mql_90",
    "tie_first",
    "tie_second",
    "at_risk_pql",
    "at_risk_mql_hot",
    "at_risk_mql",
    "on_track_due_20_mql",
    "on_track_due_60_pql",
    "on_track_due_60_mql",
    "touched",
]


@pytest.fixture
def worked_queue(desk):
    return {name: _assigned(desk, name, **attributes) for name, attributes in ROWS}


def _names_in(html: str) -> list[str]:
    return re.findall(r'<a href="/leads/\d+/"[^>]*>(\w+)</a>', html)


def test_the_queue_puts_urgency_first_then_pql_hot_and_score_then_id(desk, worked_queue):
    rows = assignment_queue_for_rep(desk["ann"].user)

    assert [row.lead.first_name for row in rows] == EXPECTED_ORDER


def test_the_page_and_the_api_list_the_queue_in_the_same_order(client, desk, worked_queue):
    # given
    client.force_login(desk["ann"].user)

    # when
    page = client.get("/queue/")
    api = client.get("/api/routing/queue/")

    # then
    assert page.status_code == 200 and api.status_code == 200
    assert _names_in(page.content.decode()) == EXPECTED_ORDER
    by_lead_id = {assignment.lead_id: name for name, assignment in worked_queue.items()}
    assert [by_lead_id[row["lead"]["id"]] for row in api.json()["results"]] == EXPECTED_ORDER


def test_the_page_shows_each_rows_fields_the_legend_and_the_counts(client, desk):
    # given
    _assigned(desk, "ada", sla="breached", score=72, title="VP Data")
    client.force_login(desk["ann"].user)

    # when
    html = client.get("/queue/").content.decode()

    # then
    assert "breached first, then at risk, then the rest by first-touch due time" in html
    assert "VP Data" in html and "why ada" in html and '<span class="badge stage-mql">MQL</span>' in html
    assert '<span class="chip sla-breached">✕ Breached</span>' in html
    assert "<strong>1</strong> open" in html and "<strong>1</strong> breached" in html


@pytest.mark.parametrize("row_count", [3, 30])
def test_the_queue_takes_one_query_however_many_rows(desk, django_assert_num_queries, row_count):
    # given
    for number in range(row_count):
        assignment = _assigned(desk, f"lead{number}", score=number)
        Activity.objects.create(lead_id=assignment.lead_id, kind=ActivityKind.CALL, at=timezone.now())

    # when / then: lead, account, source, score and last touch come in the one query
    with django_assert_num_queries(1):
        rows = list(assignment_queue_for_rep(desk["ann"].user))
        shown = [(row.lead.account, row.lead.source, row.lead.score.why, row.last_touch_at) for row in rows]
    assert len(shown) == row_count and all(touch is not None for *_, touch in shown)


@pytest.mark.parametrize("status", [AssignmentStatus.CLOSED, AssignmentStatus.REJECTED, AssignmentStatus.REASSIGNED])
def test_closed_rejected_and_reassigned_assignments_are_not_in_the_queue(desk, status):
    # given
    _assigned(desk, "gone", status=status)

    # when
    rows = assignment_queue_for_rep(desk["ann"].user)

    # then
    assert list(rows) == []
    assert assignment_queue_counts(desk["ann"].user).open == 0


def test_accepted_assignments_stay_in_the_queue(desk):
    _assigned(desk, "kept", status=AssignmentStatus.ACCEPTED)

    assert [row.lead.first_name for row in assignment_queue_for_rep(desk["ann"].user)] == ["kept"]


@pytest.mark.parametrize("query", ["", "?rep={ben}", "?rep={ann}"])
@pytest.mark.parametrize("url", ["/queue/", "/api/routing/queue/"])
def test_a_rep_never_sees_another_reps_queue(client, desk, url, query):
    # given
    _assigned(desk, "bruno", country="FR")
    _assigned(desk, "ada")
    client.force_login(desk["ann"].user)

    # when
    response = client.get(url + query.format(ben=desk["ben"].id, ann=desk["ann"].id))

    # then
    assert "bruno" not in response.content.decode()
    assert response.status_code == (403 if "ben" in query else 200)


@pytest.mark.parametrize("url", ["/queue/", "/api/routing/queue/"])
def test_a_manager_opens_the_queue_of_a_rep_they_manage_and_no_other(client, desk, charlie, url):
    # given
    _assigned(desk, "ada")
    _assigned(desk, "bruno", country="FR")
    client.force_login(charlie)

    # when
    anns = client.get(f"{url}?rep={desk['ann'].id}")
    bens = client.get(f"{url}?rep={desk['ben'].id}")

    # then
    assert anns.status_code == 200 and "ada" in anns.content.decode()
    assert bens.status_code == 403 and "bruno" not in bens.content.decode()


@pytest.mark.parametrize(
    ("query", "field"),
    [("", "rep"), ("?rep=abc", "rep"), ("?rep={ann}&stage=hot", "stage"), ("?rep={ann}&sla_state=late", "sla_state")],
)
def test_the_api_answers_400_naming_the_bad_parameter(client, desk, charlie, query, field):
    client.force_login(charlie)

    response = client.get("/api/routing/queue/" + query.format(ann=desk["ann"].id))

    assert response.status_code == 400
    assert response.json()["field"] == field


@pytest.mark.parametrize("query", ["?stage=hot", "?sla_state=late", "?source=x", "?rep=abc"])
def test_the_page_answers_400_for_a_bad_filter(client, desk, query):
    client.force_login(desk["ann"].user)

    assert client.get("/queue/" + query).status_code == 400


def test_filters_narrow_the_rows_by_stage_source_and_sla_state_but_not_the_counts(desk):
    # given
    webinar = Source.objects.create(name="Webinars", kind=SourceKind.MARKETING, write_key_hash="x" * 64)
    _assigned(desk, "pql_breached", sla="breached", pql=True)
    _assigned(desk, "mql_at_risk", sla="at_risk")
    mql_on_track = _assigned(desk, "mql_on_track")
    mql_on_track.lead.source = webinar
    mql_on_track.lead.save(update_fields=["source"])
    user = desk["ann"].user

    def names(**filters):
        return [row.lead.first_name for row in assignment_queue_for_rep(user, QueueFilters(**filters))]

    # then
    assert names(stage=Stage.PQL) == ["pql_breached"]
    assert names(source_id=webinar.id) == ["mql_on_track"]
    assert names(sla_state="at_risk") == ["mql_at_risk"]
    assert names(stage=Stage.MQL, sla_state="breached") == []
    counts = assignment_queue_counts(user)
    assert (counts.open, counts.at_risk, counts.breached) == (3, 1, 1)


def test_the_api_filters_and_counts(client, desk):
    _assigned(desk, "pql_breached", sla="breached", pql=True)
    _assigned(desk, "mql_at_risk", sla="at_risk")
    client.force_login(desk["ann"].user)

    body = client.get("/api/routing/queue/?sla_state=breached").json()

    assert [row["lead"]["name"] for row in body["results"]] == ["pql_breached"]
    assert body["results"][0]["sla_state"] == "breached" and body["results"][0]["is_pql"] is True
    assert body["counts"] == {"open": 2, "at_risk": 1, "breached": 1}
