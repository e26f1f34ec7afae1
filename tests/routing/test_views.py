"""The lead workspace (/leads/<id>/, routing/views.py) and the rep's queue as their
landing page: what a rep may see, and nothing they may not."""

import pytest
from django.utils import timezone

from leads.models import Stage
from routing.services.assignments import lead_route
from scoring.models import LeadScore, RuleVersion
from tests.routing.world import make_account, make_lead, make_queue, make_rep, rep_user, rule, sla

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def desk(django_user_model):
    """Ann and Ben each work their own queue (German and French leads); MQLs get an hour's SLA."""
    ann = make_rep(rep_user(django_user_model, "ann"))
    ben = make_rep(rep_user(django_user_model, "ben"))
    rule("Germany", make_queue("Germany", [ann]), 1, {"field": "lead.country", "op": "eq", "value": "DE"})
    rule("France", make_queue("France", [ben]), 2, {"field": "lead.country", "op": "eq", "value": "FR"})
    sla(Stage.MQL, minutes=60, warning=45)
    return {"ann": ann, "ben": ben}


def _routed(email: str, country: str, **fields):
    lead = make_lead(email, country=country, **fields)
    return lead_route(lead_id=lead.id, trigger="qualified")


def _scored(lead, why: str) -> None:
    version = RuleVersion.objects.create(number=1, name="Default")
    LeadScore.objects.create(lead=lead, version=version, total=72, grade="A", why=why, computed_at=timezone.now())


def test_a_rep_opens_the_workspace_of_a_lead_assigned_to_them(client, desk):
    # given
    assignment = _routed(
        "ada@acme.io", "DE", first_name="Ada", last_name="Lovelace", title="VP Data", account=make_account("acme.io")
    )
    _scored(assignment.lead, "Hit plan limit · 5 active users this week · pricing page twice")
    client.force_login(desk["ann"].user)

    # when
    response = client.get(f"/leads/{assignment.lead_id}/")

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "VP Data" in html and "Acme" in html
    assert '<span class="badge stage-mql">MQL</span>' in html
    assert "Hit plan limit · 5 active users this week · pricing page twice" in html
    assert "Germany" in html
    assert f'datetime="{timezone.localtime(assignment.due_at).isoformat()}"' in html
    assert "On track" in html


@pytest.mark.parametrize("lead_id", ["theirs", "missing"])
def test_a_rep_gets_404_for_a_lead_they_may_not_see(client, desk, lead_id):
    # given: Ben's lead, and an id no lead has
    bens = _routed("bruno@example.fr", "FR").lead_id
    client.force_login(desk["ann"].user)

    # when
    response = client.get(f"/leads/{bens if lead_id == 'theirs' else bens + 1000}/")

    # then
    assert response.status_code == 404
    assert "bruno" not in response.content.decode()


def test_a_signed_out_visitor_is_sent_to_sign_in_from_a_lead(client, desk):
    lead_id = _routed("ada@acme.io", "DE").lead_id

    response = client.get(f"/leads/{lead_id}/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_a_manager_opens_the_workspace_of_a_lead_their_rep_holds(client, desk, charlie):
    desk["ann"].manager = charlie
    desk["ann"].save()
    lead_id = _routed("ada@acme.io", "DE").lead_id
    client.force_login(charlie)

    assert client.get(f"/leads/{lead_id}/").status_code == 200


def test_a_reps_landing_is_their_queue_with_their_assignments_and_no_one_elses(client, desk):
    # given
    anns = _routed("ada@acme.io", "DE", first_name="Ada", last_name="Lovelace")
    _routed("bruno@example.fr", "FR", first_name="Bruno", last_name="Latour")
    client.force_login(desk["ann"].user)

    # when
    response = client.get("/", follow=True)

    # then
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == "/queue/"
    assert f'href="/leads/{anns.lead_id}/"' in html
    assert "Bruno" not in html


def test_a_rep_with_nothing_open_is_told_so_in_words(client, desk):
    client.force_login(desk["ann"].user)

    html = client.get("/queue/").content.decode()

    assert "Nothing in the queue right now." in html


def test_the_definitions_page_no_longer_lists_a_reps_assignments(client, desk):
    _routed("ada@acme.io", "DE", first_name="Ada", last_name="Lovelace")
    client.force_login(desk["ann"].user)

    html = client.get("/scoring/definitions/").content.decode()

    assert "Ada Lovelace" not in html
