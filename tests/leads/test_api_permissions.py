"""Who sees what through the REST API: reps see only their own leads, accounts and events."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import Account, Event, EventType, Lead, Stage

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The personas are created with passwords; the default hasher costs about half a second each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _event(source, lead, name: str) -> Event:
    now = timezone.now()
    return Event.objects.create(
        source=source,
        message_id=name,
        type=EventType.TRACK,
        event=name,
        received_at=now,
        timestamp=now,
        lead=lead,
        account=lead.account if lead else None,
        processed_at=now,
    )


@pytest.fixture
def world(alice, bob, source_with_key):
    """Alice owns one lead and one account (with a lead owned by nobody); Bob owns one lead."""
    source, _ = source_with_key
    alice_account = Account.objects.create(name="Acme", domain="acme.com", owner=alice)
    bob_account = Account.objects.create(name="Globex", domain="globex.com")
    alice_lead = Lead.objects.create(email="ann@initech.com", owner=alice, stage=Stage.MQL)
    account_lead = Lead.objects.create(email="carl@acme.com", account=alice_account)
    bob_lead = Lead.objects.create(email="dora@globex.com", owner=bob, account=bob_account, stage=Stage.MQL)
    return {
        "alice_account": alice_account,
        "bob_account": bob_account,
        "alice_lead": alice_lead,
        "account_lead": account_lead,
        "bob_lead": bob_lead,
        "alice_event": _event(source, alice_lead, "Alice event"),
        "bob_event": _event(source, bob_lead, "Bob event"),
        "orphan_event": _event(source, None, "Orphan event"),
    }


def _client(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_a_rep_lists_the_leads_they_own_and_those_of_accounts_they_own(world, alice):
    # when
    response = _client(alice).get("/api/leads/")

    # then
    assert _ids(response) == {world["alice_lead"].id, world["account_lead"].id}


def test_a_rep_sees_only_their_accounts_and_the_accounts_of_their_leads(world, alice, bob):
    # when
    alice_ids = _ids(_client(alice).get("/api/accounts/"))
    bob_ids = _ids(_client(bob).get("/api/accounts/"))

    # then
    assert alice_ids == {world["alice_account"].id}
    assert bob_ids == {world["bob_account"].id}


def test_a_rep_sees_only_the_events_of_their_leads(world, bob):
    # when
    response = _client(bob).get("/api/events/")

    # then
    assert _ids(response) == {world["bob_event"].id}


@pytest.mark.parametrize(
    "url",
    [
        "/api/leads/{bob_lead.id}/",
        "/api/accounts/{bob_account.id}/",
        "/api/events/{bob_event.id}/",
        "/api/events/{orphan_event.id}/",
    ],
)
def test_a_rep_asking_for_something_not_theirs_gets_404_not_403(world, alice, url):
    # when
    response = _client(alice).get(url.format(**world))

    # then
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("query", "bobs_record"),
    [
        ("/api/leads/?owner={bob.id}", "bob_lead"),
        ("/api/leads/?account={bob_account.id}", "bob_lead"),
        ("/api/leads/?q=dora", "bob_lead"),
        ("/api/leads/?stage=mql", "bob_lead"),
        ("/api/accounts/?domain=globex.com", "bob_account"),
        ("/api/accounts/?owner={bob.id}", "bob_account"),
        ("/api/events/?lead={bob_lead.id}", "bob_event"),
        ("/api/events/?event=Bob event", "bob_event"),
    ],
)
def test_filters_never_reveal_another_reps_records(world, alice, bob, query, bobs_record):
    # when
    response = _client(alice).get(query.format(bob=bob, **world))

    # then
    assert world[bobs_record].id not in _ids(response)


@pytest.mark.parametrize("persona", ["charlie", "olivia", "admin_user_qualify"])
def test_managers_marketing_ops_and_admins_see_everything(world, persona, request):
    # given
    client = _client(request.getfixturevalue(persona))

    # when
    leads = _ids(client.get("/api/leads/"))
    accounts = _ids(client.get("/api/accounts/"))
    events = _ids(client.get("/api/events/"))

    # then
    assert leads == {world["alice_lead"].id, world["account_lead"].id, world["bob_lead"].id}
    assert accounts == {world["alice_account"].id, world["bob_account"].id}
    assert events == {world["alice_event"].id, world["bob_event"].id, world["orphan_event"].id}


@pytest.mark.parametrize("url", ["/api/leads/", "/api/leads/1/", "/api/accounts/", "/api/events/"])
def test_anonymous_requests_get_401(url):
    # when
    response = APIClient().get(url)

    # then
    assert response.status_code == 401


def test_a_user_without_a_role_gets_403_and_no_data(world):
    # given
    stranger = get_user_model().objects.create_user(username="stranger", password="pw-stranger")

    # when
    response = _client(stranger).get("/api/leads/")

    # then
    assert response.status_code == 403


def test_a_token_obtained_from_the_api_authenticates_requests(world, alice):
    # given
    token_response = APIClient().post("/api/auth/token/", {"username": "alice", "password": "pw-alice"})
    assert token_response.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_response.json()['token']}")

    # when
    response = client.get("/api/leads/")

    # then
    assert _ids(response) == {world["alice_lead"].id, world["account_lead"].id}
    assert Token.objects.get(user=alice).key == token_response.json()["token"]


def test_merged_leads_are_left_out_of_the_list_but_still_open_by_id(world, charlie):
    # given
    duplicate = Lead.objects.create(email="ann.dup@initech.com", merged_into=world["alice_lead"])
    client = _client(charlie)

    # when
    listed = _ids(client.get("/api/leads/"))
    detail = client.get(f"/api/leads/{duplicate.id}/")

    # then
    assert duplicate.id not in listed
    assert detail.status_code == 200
    assert detail.json()["merged_into"] == world["alice_lead"].id
