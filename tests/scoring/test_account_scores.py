"""Account scores: written by the rescoring passes, as of a past moment, and the order of account lists."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import Account, Lead, Stage
from leads.services.sources import source_create
from leads.services.stages import lead_stage_change
from routing.lead_admin import AccountAdmin
from scoring.models import AccountScore
from scoring.services import accounts_with_stage_moves
from scoring.services.point_in_time import account_scores_as_of
from scoring.tasks import scores_refresh_stale_task
from tests.scoring.pipeline import iso, send, track

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def source(db):
    return source_create(name="App", kind="product")[0]


def _ago(**delta) -> str:
    return iso(timezone.now() - timedelta(**delta))


def _people_at_acme(*, at: str, **company) -> list[dict]:
    """A VP of Data and an engineer at Acme, a 250-person US software company."""
    traits = {"name": "Acme", "domain": "acme.io", "industry": "Software", "employees": 250, "country": "US"}
    return [
        {"type": "identify", "userId": "u1", "traits": {"email": "ada@acme.io", "title": "VP Data"}, "timestamp": at},
        {"type": "identify", "userId": "u2", "traits": {"email": "bob@acme.io", "title": "Engineer"}, "timestamp": at},
        {"type": "group", "userId": "u1", "groupId": "acme", "traits": {**traits, **company}, "timestamp": at},
        {"type": "group", "userId": "u2", "groupId": "acme", "traits": {}, "timestamp": at},
    ]


def test_rescoring_rolls_the_leads_scores_up_into_the_accounts(live_rules, source):
    # given a VP who qualifies on marketing and an engineer reading the docs
    send(
        source,
        [
            *_people_at_acme(at=_ago(days=10)),
            track("u1", "Webinar Registered", at=_ago(days=5)),
            track("u1", "Form Submitted", at=_ago(days=4), form_id="contact"),
            track("u1", "Asset Downloaded", at=_ago(days=3), asset_type="checklist"),
            {"type": "page", "userId": "u2", "properties": {"path": "/docs/start"}, "timestamp": _ago(days=2)},
        ],
    )
    ada, bob = (Lead.objects.select_related("score").get(email=email) for email in ("ada@acme.io", "bob@acme.io"))

    # when
    score = AccountScore.objects.get(account=ada.account)

    # then
    assert ada.stage == Stage.MQL and ada.account_id == bob.account_id
    assert score.version_id == live_rules.id
    assert score.fit == max(ada.score.fit, bob.score.fit)
    assert score.engagement == max(ada.score.engagement, bob.score.engagement)
    assert score.stage == Stage.MQL and not score.is_pql
    assert "2 of 2 people engaged" in score.why
    assert score.explanation["best_fit_lead_id"] == ada.id


def test_a_lead_that_reached_a_pql_path_makes_its_account_a_pql_with_the_same_evidence(live_rules, source):
    # given the engineer hit the plan limit yesterday
    send(
        source,
        [
            *_people_at_acme(at=_ago(days=10)),
            track("u2", "Plan Limit Reached", at=_ago(days=1), group_id="acme", limit="jobs"),
        ],
    )
    bob = Lead.objects.select_related("score").get(email="bob@acme.io")

    # when
    score = AccountScore.objects.get(account=bob.account)

    # then
    assert bob.score.pql_path == "Plan limit reached"
    assert score.is_pql and score.pql_path == "Plan limit reached" and score.stage == Stage.PQL
    assert score.explanation["pql"] == bob.score.explanation["pql"]
    assert score.why.startswith("PQL: Hit plan limit")


def test_account_scores_as_of_do_not_see_seats_grown_after_as_of(live_rules, source):
    # given an account on 2 seats that went to 10 yesterday
    send(
        source,
        [
            *_people_at_acme(at=_ago(days=20), seats=2),
            {"type": "group", "userId": "u1", "groupId": "acme", "traits": {"seats": 10}, "timestamp": _ago(days=1)},
        ],
    )
    account = Account.objects.get(domain="acme.io")

    # when
    as_of = dict(account_scores_as_of(version=live_rules, as_of=timezone.now() - timedelta(days=2)))[account.id]

    # then
    assert AccountScore.objects.get(account=account).pql_path == "Seat growth"
    assert not as_of.is_pql and as_of.stage == Stage.NEW
    assert as_of.lead_count == 2


# --- Account lists ordered by score -------------------------------------------------------


@pytest.fixture
def scored_accounts(live_rules):
    """Three accounts: Initech scores 120, Acme 50, Globex not scored yet."""
    accounts = {name: Account.objects.create(name=name, domain=f"{name.lower()}.io") for name in ("Acme", "Globex")}
    accounts["Initech"] = Account.objects.create(name="Initech", domain="initech.io")
    for name, total in (("Acme", 50), ("Initech", 120)):
        AccountScore.objects.create(
            account=accounts[name], version=live_rules, total=total, stage="mql", computed_at=timezone.now()
        )
    return accounts


@pytest.fixture
def api(charlie) -> APIClient:
    client = APIClient()
    client.force_authenticate(charlie)
    return client


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [("-score", ["Initech", "Acme", "Globex"]), ("score", ["Globex", "Acme", "Initech"])],
)
def test_the_accounts_api_orders_by_score(api, scored_accounts, ordering, expected):
    # when
    response = api.get(f"/api/accounts/?ordering={ordering}")

    # then
    assert response.status_code == 200
    assert [item["name"] for item in response.json()["results"]] == expected
    totals = {item["name"]: item["score"] and item["score"]["total"] for item in response.json()["results"]}
    assert totals == {"Initech": 120, "Acme": 50, "Globex": None}


def test_the_accounts_api_pages_by_score_with_its_cursor(api, scored_accounts):
    # when
    names, url = [], "/api/accounts/?ordering=-score&page_size=1"
    while url:
        page = api.get(url).json()
        names += [item["name"] for item in page["results"]]
        url = page["next"]

    # then
    assert names == ["Initech", "Acme", "Globex"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("ordering=total", "ordering"),
        ("ordering=-score&cursor=bm9wZQ", "cursor"),  # not a cursor we issued
        ("ordering=-score&cursor=cD1hYmM%3D", "cursor"),  # a well-formed cursor at the position "abc"
    ],
)
def test_a_bad_ordering_or_cursor_gets_400_naming_the_parameter(api, scored_accounts, query, field):
    # when
    response = api.get(f"/api/accounts/?{query}")

    # then
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_the_admin_account_list_sorts_by_the_score_column(client, admin_user_qualify, scored_accounts):
    # given
    client.force_login(admin_user_qualify)
    url = reverse("admin:leads_account_changelist")
    column = AccountAdmin.list_display.index("score_total") + 1

    # when
    response = client.get(f"{url}?o=-{column}")

    # then
    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("Initech") < page.index("Acme")
    assert "120 (D, MQL)" in page


def test_the_admin_account_page_shows_the_accounts_score(client, admin_user_qualify, scored_accounts, live_rules):
    # given
    client.force_login(admin_user_qualify)

    # when
    scored = client.get(reverse("admin:leads_account_change", args=[scored_accounts["Initech"].id]))
    unscored = client.get(reverse("admin:leads_account_change", args=[scored_accounts["Globex"].id]))

    # then
    assert f"120 (fit 0, engagement 0), grade D, stage MQL · - · by rule version {live_rules.number}" in (
        scored.content.decode()
    )
    assert "Not scored yet" in unscored.content.decode()


def test_a_lead_moved_by_hand_moves_its_accounts_stage_at_the_next_refresh(live_rules, source, charlie):
    # given a scored account, then its lead accepted and converted to SQL by hand
    send(source, _people_at_acme(at=_ago(days=10)))
    ada = Lead.objects.get(email="ada@acme.io")
    before = AccountScore.objects.get(account=ada.account)
    lead_stage_change(lead_id=ada.id, to_stage=Stage.SQL, actor=charlie, reason="Qualified on a call")

    # when
    waiting = accounts_with_stage_moves(limit=10)
    scores_refresh_stale_task()

    # then
    assert before.stage == Stage.NEW
    assert waiting == [ada.account_id]
    assert AccountScore.objects.get(account=ada.account).stage == Stage.SQL
    assert accounts_with_stage_moves(limit=10) == []
