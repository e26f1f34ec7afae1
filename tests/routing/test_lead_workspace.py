"""The lead workspace (/leads/<id>/): one screen with who the lead is, why now (the score
card in words, the activation checklist), what happened (one timeline, newest first,
paginated) and the assignment; opened only by those who may, in a constant number of queries."""

import re
import uuid
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Account, Event, Lead, Outcome, OutcomeKind, Source, Stage
from leads.services.identity_writes import lead_merge_write
from leads.services.sources import source_create
from routing.models import Activity, ActivityKind, Assignment, SlaEvent, SlaEventKind, Team
from routing.services.actions import activity_log, assignment_reject
from routing.services.assignments import lead_route
from routing.services.sla import sla_sweep
from scoring.services import rule_version_install_default
from tests.routing.world import make_lead, make_queue, make_rep, rule, sla
from tests.scoring.pipeline import company, days_ago, lead_by_email, page, person, send, track

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def org(alice, bob, charlie, dana):
    """Alice (Charlie's team) works the US queue, Bob (Dana's team) the French one; a rule version is live."""
    live = rule_version_install_default()
    ann = make_rep(alice, team=Team.objects.create(name="East", manager=charlie))
    ben = make_rep(bob, team=Team.objects.create(name="West", manager=dana))
    rule("France", make_queue("France", [ben]), 1, {"field": "lead.country", "op": "eq", "value": "FR"})
    rule("Everyone else", make_queue("US", [ann]), 2)
    sla(Stage.MQL, minutes=60, warning=45)
    sla(Stage.PQL, minutes=30, warning=20)
    return {"alice": ann, "bob": ben, "version": live}


@pytest.fixture
def ada(org):
    """A rich PQL at Acme, routed to Alice: VP Data, pricing page twice, a careers page visit,
    two of the three activation steps and a plan limit hit; two colleagues, one of them Bob's."""
    web = source_create(name="Web", kind="marketing")[0]
    app = source_create(name="App", kind="product")[0]
    send(
        web,
        [
            *person("u1", "ada@acme.io", title="VP Data", country="US", group_id="acme"),
            company("u1", "acme", name="Acme", domain="acme.io", industry="Software", employees=250, plan="team"),
            page("u1", "/pricing", at=days_ago(3)),
            page("u1", "/pricing", at=days_ago(2)),
            page("u1", "/careers", at=days_ago(2.5)),
        ],
    )
    send(
        app,
        [
            track("u1", "Source Connected", at=days_ago(6), connector="postgres"),
            track("u1", "Job Run", at=days_ago(5), rows=1200),
            track("u1", "Plan Limit Reached", at=days_ago(1), group_id="acme", limit="jobs"),
        ],
    )
    lead = lead_by_email("ada@acme.io")
    account = lead.account
    make_lead(
        "grace@acme.io", stage=Stage.MQL, account=account, first_name="Grace", last_name="Hopper", owner=org["bob"].user
    )
    make_lead(
        "linus@acme.io", stage=Stage.NEW, account=account, first_name="Linus", last_name="T", owner=org["alice"].user
    )
    return lead_route(lead_id=lead.id, trigger="qualified")


def _html(client, user, url: str):
    client.force_login(user)
    response = client.get(url)
    return response, response.content.decode()


def _text(html: str) -> str:
    """The page's words, tags dropped and spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# --- contents -------------------------------------------------------------------------------


def test_the_score_card_shows_every_rule_that_fired_with_its_points_and_evidence_in_words(client, org, ada):
    # when
    response, html = _html(client, org["alice"].user, f"/leads/{ada.lead_id}/")

    # then
    text = _text(html)
    assert response.status_code == 200
    assert "Target role +25 The lead's title is 'VP Data'." in text
    assert "Pricing page visit" in text and "Twice in the last 30 days" in text
    assert "Company size 50 to 10,000 +15 The account's employee count is 250." in text
    # negative signals are shown as such
    assert "Negative signals" in text
    assert "Careers page visit −10 Once in the last 30 days" in text
    # the PQL path and the rule version, never raw JSON
    assert "Plan limit reached recorded Hit plan limit" in text
    assert f"Rule version v{org['version'].number}" in text
    assert '"evidence"' not in html and "{&quot;" not in html and "(?i)" not in html


def test_the_activation_checklist_shows_done_steps_with_dates_and_missing_ones(client, org, ada):
    # when
    _, html = _html(client, org["alice"].user, f"/leads/{ada.lead_id}/")

    # then
    text = _text(html)
    connected = timezone.localdate(timezone.now() - timedelta(days=6))
    assert "Activation 2 of 3 done" in text
    assert f"Source Connected done {connected:%-d %b %Y}" in text
    assert "Job Run done" in text
    assert "Results Viewed missing" in text
    assert "Plan limit reached ✓ Met" in text


def test_a_plain_mql_has_no_activation_checklist(client, org):
    # given: a lead with marketing signals only
    web = source_create(name="Web", kind="marketing")[0]
    send(web, [*person("u9", "mo@initech.com", title="Director of IT", country="US"), page("u9", "/pricing")])
    assignment = lead_route(lead_id=lead_by_email("mo@initech.com").id, trigger="qualified")

    # when
    _, html = _html(client, org["alice"].user, f"/leads/{assignment.lead_id}/")

    # then
    assert 'id="activation"' not in html
    assert "Target role" in html


def test_the_account_shows_its_other_people_with_stages_and_owners_linking_only_those_the_viewer_may_open(
    client, org, ada
):
    # given: a third colleague merged away, who is not shown
    account = Account.objects.get(domain="acme.io")
    survivor = Lead.objects.get(email="linus@acme.io")
    merged = make_lead("linus.t@acme.io", stage=Stage.NEW, account=account)
    lead_merge_write(survivor=survivor, merged=merged, reason="same person", at=timezone.now())
    merged.save()

    # when
    _, html = _html(client, org["alice"].user, f"/leads/{ada.lead_id}/")

    # then: Alice owns Linus, not Grace (Bob's)
    text = _text(html)
    assert "Industry Software" in text and "Size 250 employees" in text and "Plan team" in text
    assert "Other people (2)" in text
    assert f'<a href="/leads/{survivor.id}/">Linus T</a>' in html
    grace = Lead.objects.get(email="grace@acme.io")
    assert f'href="/leads/{grace.id}/"' not in html
    assert "Grace Hopper MQL VP" not in text and "Grace Hopper" in text and "bob" in text
    assert "linus.t@acme.io" not in html


def test_the_timeline_lists_every_kind_newest_first(client, org, ada, alice):
    # given: a call, a breach, an outcome
    Assignment.objects.filter(id=ada.id).update(due_at=timezone.now() - timedelta(minutes=1))
    sla_sweep()
    activity_log(assignment_id=ada.id, user=alice, kind=ActivityKind.CALL, notes="Left a voicemail")
    Outcome.objects.create(
        kind=OutcomeKind.MEETING, lead_id=ada.lead_id, occurred_at=timezone.now() + timedelta(seconds=1)
    )

    # when
    _, html = _html(client, alice, f"/leads/{ada.lead_id}/")

    # then
    kinds = re.findall(r'<li class="entry kind-(\w+)">', html)
    assert set(kinds) == {"marketing", "product", "stage", "routing", "sla", "activity", "outcome"}
    moments = re.findall(r'<time class="at" datetime="([^"]+)"', html)
    assert moments == sorted(moments, reverse=True)
    assert kinds[0] == "outcome"
    text = _text(html)
    assert "Meeting held" in text
    assert "Call · alice Left a voicemail" in text
    assert "SLA breached for alice" in text
    assert "Job Run · App rows: 1200" in text
    assert "Viewed /pricing" in text
    assert "Assigned to alice (US) Became MQL or PQL: rule 'Everyone else' matched" in text


def test_a_rejection_is_on_the_timeline_with_its_reason(client, org, ada, alice, charlie):
    # given
    assignment_reject(assignment_id=ada.id, user=alice, reason="Not the buyer")

    # when: Charlie, Alice's manager, opens it (Alice no longer holds it)
    _, html = _html(client, charlie, f"/leads/{ada.lead_id}/")

    # then
    assert "Rejected: Not the buyer" in _text(html)


def _events(lead: Lead, count: int, *, source: Source | None = None) -> None:
    source = source or source_create(name=f"Bulk {uuid.uuid4().hex[:6]}", kind="marketing")[0]
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            source=source,
            message_id=uuid.uuid4().hex,
            type="track",
            event="Email Link Clicked",
            properties={"campaign": "Spring"},
            received_at=now,
            timestamp=now - timedelta(minutes=index + 1),
            lead=lead,
            account_id=lead.account_id,
            processed_at=now,
        )
        for index in range(count)
    )


def test_the_timeline_is_paginated_newest_first_with_older_and_newer_links(client, org, alice):
    # given: 60 events on Alice's lead
    lead = make_lead("busy@example.com", country="US")
    assignment = lead_route(lead_id=lead.id, trigger="qualified")
    _events(lead, 60)
    client.force_login(alice)

    # when
    first = client.get(f"/leads/{lead.id}/").content.decode()
    second = client.get(f"/leads/{lead.id}/?page=2").content.decode()
    third = client.get(f"/leads/{lead.id}/?page=3").content.decode()

    # then: 25 a page; the routing decision is the newest entry; every entry shown once
    assert assignment.id
    assert first.count('<li class="entry') == 25 and second.count('<li class="entry') == 25
    assert third.count('<li class="entry') == 11  # 60 events and the routing decision
    assert 'href="?page=2"' in first and 'href="?page=1"' not in first
    assert 'href="?page=1"' in second and 'href="?page=3"' in second
    assert 'href="?page=4"' not in third
    page_one = re.findall(r'<time class="at" datetime="([^"]+)"', first)
    page_two = re.findall(r'<time class="at" datetime="([^"]+)"', second)
    assert min(page_one) >= max(page_two)


def test_htmx_asks_for_the_timeline_alone(client, org, alice):
    lead = make_lead("busy@example.com", country="US")
    lead_route(lead_id=lead.id, trigger="qualified")
    _events(lead, 30)
    client.force_login(alice)

    html = client.get(
        f"/leads/{lead.id}/?page=2", headers={"HX-Request": "true", "HX-Target": "timeline"}
    ).content.decode()

    assert html.lstrip().startswith("{#") is False
    assert '<section class="card timeline"' in html
    assert "<html" not in html and 'id="score"' not in html


@pytest.mark.parametrize("page_parameter", ["0", "abc", "-1", "999"])
def test_a_timeline_page_that_does_not_exist_is_404(client, org, ada, page_parameter):
    client.force_login(org["alice"].user)

    assert client.get(f"/leads/{ada.lead_id}/?page={page_parameter}").status_code == 404


# --- who may open it ------------------------------------------------------------------------


@pytest.fixture
def bens_lead(org):
    """A lead routed to Bob (France)."""
    return lead_route(lead_id=make_lead("bruno@example.fr", country="FR", first_name="Bruno").id, trigger="qualified")


@pytest.mark.parametrize(
    "url",
    [
        "/leads/{lead}/",
        "/leads/{lead}/?page=2",
        "/leads/{lead}/?page=abc",
        "/leads/{merged}/",
        "/leads/{account_lead}/",
    ],
    ids=["lead", "timeline-page", "bad-page", "merged-id", "lead-of-another-reps-account"],
)
def test_a_rep_gets_404_for_any_url_of_a_lead_that_is_not_theirs(client, org, bens_lead, url):
    # given: a duplicate of Bob's lead merged into it, and a lead of an account Bob owns
    bruno = bens_lead.lead
    duplicate = make_lead("bruno.l@example.fr", owner=org["bob"].user)
    lead_merge_write(survivor=bruno, merged=duplicate, reason="same person", at=timezone.now())
    duplicate.save()
    account = Account.objects.create(domain="bob-owns.fr", name="Bobco", owner=org["bob"].user)
    account_lead = make_lead("zoe@bob-owns.fr", account=account, first_name="Zoe")

    # when
    response, html = _html(
        client, org["alice"].user, url.format(lead=bruno.id, merged=duplicate.id, account_lead=account_lead.id)
    )

    # then
    assert response.status_code == 404
    assert "Bruno" not in html and "Zoe" not in html


@pytest.mark.parametrize(
    ("who", "whose", "status"),
    [
        ("alice", "alice", 200),
        ("bob", "bob", 200),
        ("charlie", "alice", 200),
        ("charlie", "bob", 200),
        ("dana", "bob", 200),
        ("dana", "alice", 200),
        ("olivia", "alice", 200),
        ("olivia", "bob", 200),
        ("admin_user_qualify", "bob", 200),
    ],
    ids=[
        "rep-own",
        "other-rep-own",
        "manager-team",
        "manager-any-lead-as-in-the-api",
        "other-manager-team",
        "other-manager-any-lead-as-in-the-api",
        "marketing-ops",
        "marketing-ops-any",
        "admin-any",
    ],
)
def test_who_may_open_a_leads_workspace(client, request, org, bens_lead, who, whose, status):
    # given
    annes = lead_route(lead_id=make_lead("ada@acme.io", country="US").id, trigger="qualified")
    lead_id = annes.lead_id if whose == "alice" else bens_lead.lead_id

    # when
    response, _ = _html(client, request.getfixturevalue(who), f"/leads/{lead_id}/")

    # then
    assert response.status_code == status


@pytest.mark.parametrize(
    ("who", "sees_actions", "sees_reassign_note"),
    [("alice", True, False), ("charlie", False, True), ("olivia", False, False), ("admin_user_qualify", False, True)],
    ids=["holder", "manager", "marketing-ops-read-only", "admin"],
)
def test_only_the_rep_who_holds_the_assignment_gets_its_actions(
    client, request, org, ada, who, sees_actions, sees_reassign_note
):
    _, html = _html(client, request.getfixturevalue(who), f"/leads/{ada.lead_id}/")

    assert ('<div class="actions">' in html) is sees_actions
    assert ("reassign it from" in html) is sees_reassign_note
    assert 'id="assignment"' in html


# --- speed: the number of queries does not grow with the lead's history or the account ---------


def _queries(client, user, lead_id: int) -> int:
    client.force_login(user)
    client.get(f"/leads/{lead_id}/")  # warm the session and the user's roles
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/leads/{lead_id}/")
    assert response.status_code == 200
    return len(captured)


def test_the_page_costs_the_same_queries_for_5_or_500_events_and_2_or_20_people(client, org, ada):
    # given: Ada with few events and few people, and the same after many more of each
    lead = Lead.objects.get(id=ada.lead_id)
    before = _queries(client, org["alice"].user, lead.id)

    _events(lead, 500, source=Source.objects.get(name="App"))
    for index in range(20):
        make_lead(f"colleague{index}@acme.io", account=lead.account, owner=org["alice"].user if index % 2 else None)
    Activity.objects.bulk_create(
        Activity(lead=lead, assignment_id=ada.id, kind=ActivityKind.NOTE, at=timezone.now(), notes=f"n{index}")
        for index in range(50)
    )
    SlaEvent.objects.create(assignment_id=ada.id, kind=SlaEventKind.AT_RISK, at=timezone.now())

    # when
    after = _queries(client, org["alice"].user, lead.id)
    html = client.get(f"/leads/{lead.id}/").content.decode()

    # then
    assert after == before
    assert "and 2 more." in html  # 22 colleagues, 20 shown


# --- the live SLA clock -------------------------------------------------------------------------


def test_the_assignment_clock_asks_for_itself_every_minute_and_gets_the_chip_alone(client, org, ada):
    # given: the page's clock polls the workspace for itself
    response, html = _html(client, org["alice"].user, f"/leads/{ada.lead_id}/")
    assert 'id="sla-clock"' in html and 'hx-trigger="every 60s"' in html

    # when: the minute's request, after the first touch was logged elsewhere
    Assignment.objects.filter(id=ada.id).update(first_touch_at=timezone.now())
    refresh = client.get(f"/leads/{ada.lead_id}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="sla-clock")

    # then: the chip only, now stopped
    chip = refresh.content.decode()
    assert refresh.status_code == 200
    assert "Touched" in chip and "<html" not in chip and "Timeline" not in chip


def test_another_reps_clock_is_a_404_like_the_page(client, org, ada, bob):
    # when
    client.force_login(bob)
    refresh = client.get(f"/leads/{ada.lead_id}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="sla-clock")

    # then
    assert refresh.status_code == 404


@pytest.mark.parametrize("who", ["alice", "bob", "charlie", "dana", "olivia", "admin_user_qualify"])
def test_whoever_may_read_a_lead_in_the_api_opens_its_workspace_and_nobody_else(client, request, org, bens_lead, who):
    # given: one lead each rep holds
    annes = lead_route(lead_id=make_lead("ada@acme.io", country="US").id, trigger="qualified")
    client.force_login(request.getfixturevalue(who))

    for lead_id in (annes.lead_id, bens_lead.lead_id):
        # when
        api = client.get(f"/api/leads/{lead_id}/").status_code
        page = client.get(f"/leads/{lead_id}/").status_code

        # then: one rule
        assert (api, page) in {(200, 200), (404, 404)}
