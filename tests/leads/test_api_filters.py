"""API filters, cursor pagination and the lead detail payload, seen by a manager (who sees everything)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import Account, Campaign, Event, EventType, Identity, IdentityKind, Lead, Stage, StageChange

pytestmark = [pytest.mark.django_db]

T0 = timezone.now().replace(microsecond=0) - timedelta(days=10)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client(charlie) -> APIClient:
    client = APIClient()
    client.force_authenticate(charlie)
    return client


@pytest.fixture
def world(alice, source_with_key, marketing_source_with_key):
    product, _ = source_with_key
    marketing, _ = marketing_source_with_key
    webinar = Campaign.objects.create(name="Webinar", type="webinar")
    acme = Account.objects.create(
        name="Acme", domain="acme.com", industry="Software", country="Germany", employee_count=50, owner=alice
    )
    globex = Account.objects.create(name="Globex", domain="globex.com", industry="Retail", employee_count=5000)
    jane = Lead.objects.create(
        email="jane@acme.com", first_name="Jane", title="VP Marketing", account=acme, stage=Stage.MQL, owner=alice
    )
    john = Lead.objects.create(
        email="john@globex.com", first_name="John", title="Engineer", account=globex, campaign=webinar, source=marketing
    )
    # created_at is auto_now_add: move it with update() so ranges have something to tell apart.
    Lead.objects.filter(id=jane.id).update(created_at=T0, updated_at=T0)
    Lead.objects.filter(id=john.id).update(created_at=T0 + timedelta(days=5), updated_at=T0 + timedelta(days=5))
    signup = Event.objects.create(
        source=product,
        message_id="m1",
        type=EventType.TRACK,
        event="Signed Up",
        lead=jane,
        account=acme,
        received_at=T0,
        timestamp=T0,
    )
    page = Event.objects.create(
        source=marketing,
        message_id="m2",
        type=EventType.PAGE,
        name="Pricing",
        lead=john,
        account=globex,
        received_at=T0 + timedelta(days=5),
        timestamp=T0 + timedelta(days=5),
    )
    return {
        "webinar": webinar,
        "acme": acme,
        "globex": globex,
        "jane": jane,
        "john": john,
        "signup": signup,
        "page": page,
        "marketing": marketing,
    }


def _names(response, key="email") -> list:
    assert response.status_code == 200, response.content
    return [row[key] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stage=mql", ["jane@acme.com"]),
        ("stage=mql&stage=new", ["john@globex.com", "jane@acme.com"]),
        ("source={marketing.id}", ["john@globex.com"]),
        ("campaign={webinar.id}", ["john@globex.com"]),
        ("account={acme.id}", ["jane@acme.com"]),
        ("owner={alice.id}", ["jane@acme.com"]),
        ("created_after={mid}", ["john@globex.com"]),
        ("created_before={mid}", ["jane@acme.com"]),
        ("updated_after={mid}", ["john@globex.com"]),
        ("updated_before={mid}", ["jane@acme.com"]),
        ("q=JANE", ["jane@acme.com"]),
        ("q=engineer", ["john@globex.com"]),
        ("q=globex", ["john@globex.com"]),
        ("", ["john@globex.com", "jane@acme.com"]),
    ],
)
def test_lead_filters(client, world, alice, query, expected):
    # given
    mid = (T0 + timedelta(days=2)).isoformat().replace("+00:00", "Z")

    # when
    response = client.get(f"/api/leads/?{query.format(alice=alice, mid=mid, **world)}")

    # then
    assert _names(response) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("segment=smb", ["acme.com"]),
        ("segment=enterprise", ["globex.com"]),
        ("industry=software", ["acme.com"]),
        ("country=germany", ["acme.com"]),
        ("owner={alice.id}", ["acme.com"]),
        ("domain=GLOBEX.com", ["globex.com"]),
        ("q=acm", ["acme.com"]),
    ],
)
def test_account_filters(client, world, alice, query, expected):
    # when
    response = client.get(f"/api/accounts/?{query.format(alice=alice, **world)}")

    # then
    assert _names(response, "domain") == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=track", ["m1"]),
        ("type=page", ["m2"]),
        ("event=Signed Up", ["m1"]),
        ("lead={john.id}", ["m2"]),
        ("account={acme.id}", ["m1"]),
        ("source={marketing.id}", ["m2"]),
        ("after={mid}", ["m2"]),
        ("before={mid}", ["m1"]),
        ("", ["m2", "m1"]),
    ],
)
def test_event_filters(client, world, query, expected):
    # given
    mid = (T0 + timedelta(days=2)).isoformat().replace("+00:00", "Z")

    # when
    response = client.get(f"/api/events/?{query.format(mid=mid, **world)}")

    # then
    assert _names(response, "message_id") == expected


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/leads/?stage=hot", "stage"),
        ("/api/leads/?created_after=yesterday", "created_after"),
        ("/api/leads/?owner=alice", "owner"),
        ("/api/leads/?owner=1.5", "owner"),
        ("/api/leads/?account=99999999999999999999", "account"),
        ("/api/leads/?source=0", "source"),
        ("/api/events/?lead=-3", "lead"),
        ("/api/routing/assignments/?rep=1e3", "rep"),
        ("/api/accounts/?segment=huge", "segment"),
        ("/api/events/?type=click", "type"),
        ("/api/events/?after=2024-13-01", "after"),
    ],
)
def test_an_invalid_filter_value_gets_400_naming_the_field(client, url, field):
    # when
    response = client.get(url)

    # then
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_the_lead_list_pages_with_a_cursor_newest_first(client, world):
    # given
    for number in range(5):
        Lead.objects.create(email=f"extra{number}@acme.com")

    # when
    seen, url = [], "/api/leads/?page_size=3"
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 3
        seen += [row["email"] for row in page["results"]]
        url = page["next"]

    # then
    assert seen == [f"extra{n}@acme.com" for n in reversed(range(5))] + ["john@globex.com", "jane@acme.com"]


def test_the_event_list_pages_newest_timestamp_first(client, world):
    # when
    first = client.get("/api/events/?page_size=1").json()
    second = client.get(first["next"]).json()

    # then
    assert [first["results"][0]["message_id"], second["results"][0]["message_id"]] == ["m2", "m1"]
    assert second["next"] is None


def test_lead_detail_has_identities_account_summary_and_recent_stage_changes(client, world, charlie):
    # given
    jane = world["jane"]
    Identity.objects.create(kind=IdentityKind.USER_ID, value="u-42", lead=jane)
    for number in range(12):
        StageChange.objects.create(
            lead=jane,
            from_stage=Stage.NEW,
            to_stage=Stage.MQL,
            changed_at=T0 + timedelta(hours=number),
            actor=charlie if number == 11 else None,
            actor_label="" if number == 11 else "scoring",
            reason=f"change {number}",
        )

    # when
    response = client.get(f"/api/leads/{jane.id}/")

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["identities"][0]["kind"] == "user_id"
    assert body["account"]["domain"] == "acme.com"
    assert body["account"]["owner"]["username"] == "alice"
    changes = body["recent_stage_changes"]
    assert len(changes) == 10
    assert changes[0]["reason"] == "change 11"
    assert changes[0]["actor"]["username"] == "charlie"


def test_the_lead_list_runs_a_fixed_number_of_queries(client, world, django_assert_max_num_queries):
    # given
    for number in range(20):
        Lead.objects.create(email=f"extra{number}@acme.com", account=world["acme"], campaign=world["webinar"])

    # when / then: no query per row (user roles + one page query)
    with django_assert_max_num_queries(4):
        assert client.get("/api/leads/").status_code == 200


@pytest.mark.parametrize(
    "parameter",
    [
        "/api/leads/?created_after",
        "/api/leads/?created_before",
        "/api/leads/?updated_after",
        "/api/leads/?updated_before",
        "/api/events/?after",
        "/api/events/?before",
    ],
)
@pytest.mark.parametrize(
    "value",
    [
        "2024-05-01T10:00:00+16:00",
        "2024-05-01T10:00:00-16:00",
        "2024-05-01T10:00:00+23:59",
        "9999-12-31T23:00:00-01:00",
        "0001-01-01T00:30:00+01:00",
    ],
)
def test_a_date_postgresql_cannot_hold_gets_400_naming_the_parameter(client, world, parameter, value):
    # given: an offset beyond PostgreSQL's ±15:59, or a year out of range once moved to UTC
    url, name = parameter.split("?")

    # when
    response = client.get(url, {name: value})

    # then
    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["code"], body["field"]) == ("invalid", name)
    assert name in body["message"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2000-01-01T00:00:00+15:59", ["m2", "m1"]),
        ("2000-01-01T00:00:00-15:59:59.5", ["m2", "m1"]),
        ("9999-12-31T23:59:59+00:00", []),
        ("0001-01-01T00:30:00-01:00", ["m2", "m1"]),
    ],
)
def test_dates_at_the_edge_of_what_postgresql_holds_filter_normally(client, world, value, expected):
    # when
    response = client.get("/api/events/", {"after": value})

    # then
    assert _names(response, "message_id") == expected
