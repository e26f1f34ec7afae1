"""The admin works for marketing ops and admins; records of what happened are read-only."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Account, Event, EventType, Identity, IdentityKind, Lead, RejectedMessage, Source, StageChange
from leads.services.roles import roles_sync
from leads.services.sources import write_key_hash
from routing.models import Rep, Team

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _roles(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    roles_sync()


@pytest.fixture
def world(source_with_key, alice):
    source, _ = source_with_key
    now = timezone.now()
    acme = Account.objects.create(name="Acme", domain="acme.com", owner=alice)
    jane = Lead.objects.create(email="jane@acme.com", first_name="Jane", title="CTO", account=acme)
    Identity.objects.create(kind=IdentityKind.USER_ID, value="user-jane", lead=jane)
    StageChange.objects.create(lead=jane, from_stage="new", to_stage="mql", changed_at=now, reason="score 80")
    event = Event.objects.create(
        source=source,
        message_id="m-1",
        type=EventType.TRACK,
        event="Signed Up",
        properties={"plan": "trial"},
        received_at=now,
        timestamp=now,
        lead=jane,
        processed_at=now,
    )
    for number in range(3):
        Event.objects.create(
            source=source,
            message_id=f"anon-{number}",
            type=EventType.PAGE,
            name="Pricing",
            anonymous_id="anon-visitor-7",
            received_at=now,
            timestamp=now,
            processed_at=now,
        )
    rejected = RejectedMessage.objects.create(
        source=source, index=4, field="event", reason="a track needs an event name", payload={}, received_at=now
    )
    return {"source": source, "acme": acme, "jane": jane, "event": event, "rejected": rejected}


@pytest.fixture(params=["olivia", "admin_user_qualify"])
def staff(request, client):
    """Marketing ops and admins: the people who work in the admin."""
    client.force_login(request.getfixturevalue(request.param))
    return client


@pytest.mark.parametrize(
    "model",
    [
        "source",
        "campaign",
        "account",
        "lead",
        "event",
        "rejectedmessage",
        "identity",
        "stagechange",
        "leadmerge",
        "outcome",
    ],
)
def test_every_changelist_renders_for_marketing_ops_and_admins(staff, world, model):
    # when
    response = staff.get(f"/admin/leads/{model}/")

    # then
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("model", "key", "expected"),
    [
        ("lead", "jane", ["jane@acme.com", "user-jane", "score 80"]),
        ("account", "acme", ["acme.com"]),
        ("event", "event", ["Signed Up", "&quot;plan&quot;: &quot;trial&quot;"]),
        ("rejectedmessage", "rejected", ["a track needs an event name"]),
        ("source", "source", ["Product app"]),
    ],
)
def test_change_pages_render_with_their_details(staff, world, model, key, expected):
    # when
    response = staff.get(f"/admin/leads/{model}/{world[key].pk}/change/")

    # then
    assert response.status_code == 200
    for text in expected:
        assert text in response.content.decode()


def test_the_lead_page_reads_stage_change_actors_in_the_same_query(staff, world, django_assert_max_num_queries):
    # given: one stage change made by a person, then measure; then ten more by other people
    jane = world["jane"]
    user_model = get_user_model()

    def change_by(username: str) -> None:
        actor = user_model.objects.create_user(username=username)
        StageChange.objects.create(lead=jane, from_stage="mql", to_stage="new", changed_at=timezone.now(), actor=actor)

    change_by("actor-0")
    with CaptureQueriesContext(connection) as few:
        staff.get(f"/admin/leads/lead/{jane.pk}/change/")
    for number in range(1, 11):
        change_by(f"actor-{number}")

    # when / then: the page costs no more queries with eleven actors than with one
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = staff.get(f"/admin/leads/lead/{jane.pk}/change/")
    assert "actor-10" in response.content.decode()


def test_the_write_key_hash_is_never_shown_but_the_prefix_is(staff, world):
    # when
    page = staff.get(f"/admin/leads/source/{world['source'].pk}/change/").content.decode()
    listing = staff.get("/admin/leads/source/").content.decode()

    # then
    assert world["source"].write_key_hash not in page + listing
    assert world["source"].write_key_prefix in page and world["source"].write_key_prefix in listing


def test_adding_a_source_shows_its_write_key_once_and_stores_only_the_hash(client, admin_user_qualify):
    # given
    client.force_login(admin_user_qualify)

    # when
    response = client.post("/admin/leads/source/add/", {"name": "CRM", "kind": "crm", "is_active": "on"}, follow=True)

    # then
    source = Source.objects.get(name="CRM")
    message = next(str(m) for m in response.context["messages"] if "Write key" in str(m))
    write_key = message.split(": ", 1)[1].split(" ", 1)[0]
    assert write_key_hash(write_key) == source.write_key_hash
    assert source.write_key_prefix == write_key[:8]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/admin/leads/event/add/"),
        ("post", "/admin/leads/event/{pk}/change/"),
        ("post", "/admin/leads/event/{pk}/delete/"),
    ],
)
def test_events_are_read_only_even_for_admins(staff, world, method, url):
    # when
    response = getattr(staff, method)(url.format(pk=world["event"].pk), {"event": "Tampered", "post": "yes"})

    # then
    assert response.status_code == 403
    assert Event.objects.get(pk=world["event"].pk).event == "Signed Up"


def test_the_event_page_has_no_save_button(staff, world):
    # when
    html = staff.get(f"/admin/leads/event/{world['event'].pk}/change/").content.decode()

    # then
    assert 'name="_save"' not in html


def test_the_unmatched_identities_page_groups_events_by_id(staff, world):
    # when
    response = staff.get("/admin/leads/event/unmatched/")

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "anon-visitor-7" in html and "anonymousId" in html and "Product app" in html
    assert "3 processed events not tied to a lead" in html
    assert "<td>3</td>" in html


def test_the_event_list_links_to_unmatched_identities(staff, world):
    # when
    html = staff.get("/admin/leads/event/").content.decode()

    # then
    assert "/admin/leads/event/unmatched/" in html


def test_a_manager_can_reassign_a_lead_but_not_edit_its_other_fields(client, charlie, bob, world):
    # given: Bob is on Charlie's team (who may give leads to whom: tests/routing/test_ownership.py)
    Rep.objects.create(user=bob, team=Team.objects.create(name="East", manager=charlie))
    client.force_login(charlie)
    jane = world["jane"]

    # when
    response = client.post(
        f"/admin/leads/lead/{jane.pk}/change/",
        {
            "owner": bob.pk,
            "title": "Intern",
            "identities-TOTAL_FORMS": "0",
            "identities-INITIAL_FORMS": "0",
            "stage_changes-TOTAL_FORMS": "0",
            "stage_changes-INITIAL_FORMS": "0",
        },
    )

    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    jane.refresh_from_db()
    assert (jane.owner, jane.title) == (bob, "CTO")


def test_a_rep_cannot_use_the_admin(client, alice, world):
    # given
    client.force_login(alice)

    # when
    response = client.get("/admin/leads/lead/")

    # then
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
