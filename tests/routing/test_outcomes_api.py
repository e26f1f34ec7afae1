"""POST /api/outcomes/ as a CRM webhook sends them (one or a list, idempotent on external_id,
partial failure answered per item) and GET /api/outcomes/ with its filters; who may do which."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import Lead, Outcome, Stage
from leads.services.roles import roles_sync
from tests.routing.world import make_account, make_lead

pytestmark = [pytest.mark.django_db]

URL = "/api/outcomes/"


@pytest.fixture(autouse=True)
def _roles():
    roles_sync()


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _item(external_id: str, kind: str = "opportunity", **fields) -> dict:
    return {
        "external_id": external_id,
        "kind": kind,
        "occurred_at": (timezone.now() - timedelta(days=1)).isoformat(),
        **fields,
    }


@pytest.fixture
def crm(django_user_model):
    """The CRM integration: a user with only the two outcome permissions, and a token."""
    user = django_user_model.objects.create_user(username="crm-sync")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["add_outcome", "change_outcome"]))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_one_outcome_is_recorded_with_201_and_sent_again_answers_200_unchanged(olivia):
    # given
    lead = make_lead("ann@acme.com", stage=Stage.MQL)
    body = _item("opp-1", amount="12500.50", currency="eur", lead_email="Ann@Acme.com")

    # when
    first = _client(olivia).post(URL, body, format="json")
    again = _client(olivia).post(URL, body, format="json")

    # then
    assert first.status_code == 201, first.json()
    assert first.json()["created"] == 1
    result = first.json()["results"][0]
    assert result["status"] == "created" and result["outcome"]["lead"] == lead.id
    assert result["outcome"]["amount"] == "12500.50" and result["outcome"]["currency"] == "EUR"
    assert again.status_code == 200 and again.json()["unchanged"] == 1
    assert Outcome.objects.count() == 1
    lead.refresh_from_db()
    assert lead.stage == Stage.OPPORTUNITY


def test_the_same_record_with_a_changed_amount_updates_it(olivia):
    # given
    make_lead("ann@acme.com")
    _client(olivia).post(URL, _item("opp-1", amount=900, lead_email="ann@acme.com"), format="json")

    # when
    response = _client(olivia).post(URL, _item("opp-1", amount=1500, lead_email="ann@acme.com"), format="json")

    # then
    assert response.status_code == 200 and response.json()["updated"] == 1
    assert str(Outcome.objects.get().amount) == "1500.00"


def test_a_bad_single_outcome_answers_400_naming_the_field_and_records_nothing(olivia):
    # when
    response = _client(olivia).post(URL, _item("opp-1", kind="signed", lead_email="ann@acme.com"), format="json")

    # then
    assert response.status_code == 400
    assert response.json()["field"] == "kind" and "kind" in response.json()["errors"]
    assert not Outcome.objects.exists()


def test_a_list_records_the_good_items_and_rejects_the_bad_ones_by_index_and_field(olivia):
    # given
    lead = make_lead("ann@acme.com")
    items = [
        _item("opp-1", lead_id=lead.id),
        _item("opp-2", kind="won", amount=-1, lead_id=lead.id),
        "not an object",
        _item("opp-3", kind="closed_won", lead_id=999999),
        _item("opp-4", kind="meeting"),
        _item("opp-5", kind="closed_won", lead_email="nobody@globex.com"),
    ]

    # when
    response = _client(olivia).post(URL, items, format="json")

    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["rejected"]) == (2, 4)
    results = body["results"]
    assert [result["status"] for result in results] == [
        "created",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "created",
    ]
    assert results[1]["external_id"] == "opp-2" and set(results[1]["errors"]) == {"kind", "amount"}
    assert results[2]["field"] == "non_field_errors"
    assert results[3]["field"] == "lead_id"
    assert results[4]["field"] == "non_field_errors" and "Name a lead" in results[4]["errors"]["non_field_errors"][0]
    assert results[5]["outcome"]["is_unmatched"] is True
    assert sorted(Outcome.objects.values_list("external_id", flat=True)) == ["opp-1", "opp-5"]


def test_a_body_that_is_not_an_outcome_or_a_list_or_a_list_too_long_is_a_400(olivia):
    # when
    scalar = _client(olivia).post(URL, "opp-1", format="json")
    too_many = _client(olivia).post(URL, [{}] * 1001, format="json")

    # then
    assert scalar.status_code == too_many.status_code == 400
    assert "at most 1000" in too_many.json()["message"]


def test_a_crm_integration_token_with_the_outcome_permissions_records_but_does_not_list(crm):
    # when
    posted = crm.post(URL, [_item("opp-1", account_domain="acme.com")], format="json")
    listed = crm.get(URL)

    # then
    assert posted.status_code == 200 and posted.json()["created"] == 1
    assert listed.status_code == 403


@pytest.mark.parametrize(
    ("who", "may_post", "may_list"),
    [
        ("alice", False, False),
        ("charlie", False, True),
        ("olivia", True, True),
        ("admin_user_qualify", True, True),
    ],
)
def test_who_may_record_and_list_outcomes(request, who, may_post, may_list):
    # given
    client = _client(request.getfixturevalue(who))

    # when
    posted = client.post(URL, _item("opp-1", account_domain="acme.com"), format="json")
    listed = client.get(URL)

    # then
    assert posted.status_code == (201 if may_post else 403)
    assert listed.status_code == (200 if may_list else 403)
    assert Outcome.objects.exists() == may_post


def test_the_list_filters_by_kind_unmatched_lead_and_account(olivia):
    # given
    acme = make_account("acme.com")
    ann = make_lead("ann@acme.com", account=acme)
    _client(olivia).post(
        URL,
        [
            _item("mtg-1", kind="meeting", lead_id=ann.id),
            _item("opp-1", account_id=acme.id),
            _item("opp-2", lead_email="zed@initech.com"),
        ],
        format="json",
    )
    client = _client(olivia)

    def ids(query: str) -> list[str]:
        response = client.get(URL + query)
        assert response.status_code == 200, response.json()
        return sorted(item["external_id"] for item in response.json()["results"])

    # then
    assert ids("") == ["mtg-1", "opp-1", "opp-2"]
    assert ids("?kind=opportunity") == ["opp-1", "opp-2"]
    assert ids("?unmatched=true") == ["opp-2"]
    assert ids("?unmatched=false") == ["mtg-1", "opp-1"]
    assert ids(f"?lead={ann.id}") == ["mtg-1"]
    assert ids(f"?account={acme.id}") == ["opp-1"]
    assert client.get(URL + "?unmatched=maybe").json()["field"] == "unmatched"


def test_a_closed_won_list_moves_each_lead_and_a_repeat_moves_nothing_more(olivia):
    # given
    leads = [make_lead(f"p{n}@acme.com", stage=Stage.PQL) for n in range(3)]
    items = [_item(f"won-{lead.id}", kind="closed_won", lead_id=lead.id, amount=100) for lead in leads]
    _client(olivia).post(URL, items, format="json")

    # when
    again = _client(olivia).post(URL, items, format="json")

    # then
    assert again.json()["unchanged"] == 3
    assert set(Lead.objects.values_list("stage", flat=True)) == {Stage.WON}
    assert sum(lead.stage_changes.count() for lead in leads) == 3


def test_the_schema_documents_both_operations_with_their_statuses():
    # when
    operations = SchemaGenerator().get_schema(request=None, public=True)["paths"]["/api/outcomes/"]

    # then
    assert set(operations["post"]["responses"]) == {
        "200",
        "201",
        "400",
        "401",
        "403",
        "406",
        "413",
        "414",
        "415",
        "503",
    }
    assert set(operations["get"]["responses"]) == {"200", "400", "401", "403", "406", "414", "503"}
    request_schema = operations["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert request_schema == {"$ref": "#/components/schemas/OutcomeRecordRequest"}
