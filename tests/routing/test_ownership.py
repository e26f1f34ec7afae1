"""Who may set a lead's or an account's owner, and move a lead's stage by hand: the admin and the
API answer alike because both call routing.services.ownership."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from rest_framework.test import APIClient

from leads.models import Account, Lead, Stage, StageChange
from leads.services.roles import roles_sync
from routing.models import Assignment, AssignmentStatus, Queue, Rep, Team
from routing.services.ownership import lead_owner_set

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def people(alice, bob, charlie, dana, erin, olivia, admin_user_qualify):
    """Charlie manages Alice and Bob; Dana manages Erin; Olivia is marketing ops."""
    roles_sync()
    east = Team.objects.create(name="East", manager=charlie)
    west = Team.objects.create(name="West", manager=dana)
    for user, team in ((alice, east), (bob, east), (erin, west)):
        Rep.objects.create(user=user, team=team)
    Queue.objects.create(name="France", team=west)
    people = {"alice": alice, "bob": bob, "charlie": charlie, "olivia": olivia, "dana": dana, "erin": erin}
    return people | {"admin": admin_user_qualify, None: None}


def _lead(people, held_by: str | None) -> Lead:
    """A lead owned by `held_by`, or, for "assigned to erin", nobody's but in Erin's open assignment."""
    if held_by == "assigned to erin":
        lead = Lead.objects.create(email="ines@example.fr", stage=Stage.MQL)
        erin = Rep.objects.get(user=people["erin"])
        Assignment.objects.create(lead=lead, rep=erin, queue=Queue.objects.get(name="France"))
        return lead
    return Lead.objects.create(email="hana@example.de", stage=Stage.MQL, owner=people[held_by])


def _admin_form(client, url: str) -> dict:
    """What the change page would post back as it stands: its editable fields and empty inlines."""
    page = client.get(url)
    data = {}
    for field in page.context["adminform"].form:
        value = field.value()
        if value not in (None, False):
            data[field.html_name] = "on" if value is True else value
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    return data


def _set_owner_in_the_admin(client, user, record, owner) -> int:
    client.force_login(user)
    url = reverse(f"admin:leads_{record._meta.model_name}_change", args=[record.id])
    data = _admin_form(client, url) if user.is_staff else {}
    response = client.post(url, data | {"owner": owner.id if owner else ""})
    return response.status_code


def _set_owner_in_the_api(client, user, record, owner) -> int:
    api = APIClient()
    api.force_authenticate(user)
    url = reverse(f"routing-api:{record._meta.model_name}-owner", args=[record.id])
    return api.post(url, {"owner": owner.id if owner else None}, format="json").status_code


INTERFACES = {"admin": _set_owner_in_the_admin, "api": _set_owner_in_the_api}

# (who acts, who holds the lead now, who they give it to, the API's answer)
LEAD_CASES = [
    ("admin", "erin", "alice", 200),
    ("charlie", None, "alice", 200),
    ("charlie", "alice", "bob", 200),
    ("charlie", "alice", None, 200),
    ("charlie", "alice", "erin", 403),
    ("charlie", "erin", "alice", 403),
    ("charlie", "assigned to erin", "alice", 403),
    ("olivia", None, "alice", 403),
    ("alice", "alice", "bob", 403),
    ("admin", None, "olivia", 400),
]


@pytest.mark.parametrize("interface", INTERFACES)
@pytest.mark.parametrize(("actor", "held_by", "given_to", "api_status"), LEAD_CASES)
def test_the_admin_and_the_api_agree_on_who_may_set_a_leads_owner(
    client, people, interface, actor, held_by, given_to, api_status
):
    # given
    lead = _lead(people, held_by)
    before = lead.owner_id

    # when
    status_code = INTERFACES[interface](client, people[actor], lead, people[given_to])

    # then
    lead.refresh_from_db()
    expected = (people[given_to].id if given_to else None) if api_status == 200 else before
    assert lead.owner_id == expected
    if interface == "api":
        assert status_code == api_status


@pytest.mark.parametrize("interface", INTERFACES)
@pytest.mark.parametrize(
    ("actor", "held_by", "given_to", "api_status"),
    [("admin", "erin", "alice", 200), ("charlie", None, "bob", 200), ("charlie", "erin", "alice", 403)]
    + [("charlie", "alice", "erin", 403), ("olivia", None, "alice", 403)],
)
def test_the_admin_and_the_api_agree_on_who_may_set_an_accounts_owner(
    client, people, interface, actor, held_by, given_to, api_status
):
    # given
    account = Account.objects.create(name="Acme", domain="acme.com", owner=people[held_by])

    # when
    status_code = INTERFACES[interface](client, people[actor], account, people[given_to])

    # then
    account.refresh_from_db()
    expected = people[given_to] if api_status == 200 else people[held_by]
    assert account.owner == expected
    if interface == "api":
        assert status_code == api_status


def test_marketing_ops_see_the_owner_read_only_in_the_admin(client, people):
    # given
    lead = _lead(people, "alice")
    client.force_login(people["olivia"])

    # when
    page = client.get(reverse("admin:leads_lead_change", args=[lead.id]))

    # then
    assert "owner" not in page.context["adminform"].form.fields
    assert "owner" in page.context["adminform"].readonly_fields


def test_a_refusal_in_the_admin_says_why(client, people):
    # given
    lead = _lead(people, "alice")
    client.force_login(people["charlie"])
    url = reverse("admin:leads_lead_change", args=[lead.id])

    # when
    response = client.post(url, _admin_form(client, url) | {"owner": people["erin"].id}, follow=True)

    # then
    assert "Nothing was saved: erin is not on your team" in response.content.decode()


def test_the_api_names_the_owner_field_when_the_user_is_not_a_rep(people):
    # given
    api = APIClient()
    api.force_authenticate(people["admin"])
    lead = _lead(people, None)

    # when
    response = api.post(
        reverse("routing-api:lead-owner", args=[lead.id]), {"owner": people["olivia"].id}, format="json"
    )

    # then
    assert response.status_code == 400
    assert response.json()["field"] == "owner"
    assert "not a sales rep" in response.json()["errors"]["owner"][0]


def test_a_rep_cannot_learn_that_another_reps_lead_exists(people):
    # given
    api = APIClient()
    api.force_authenticate(people["alice"])
    lead = _lead(people, "erin")

    # when
    response = api.post(reverse("routing-api:lead-owner", args=[lead.id]), {"owner": people["alice"].id}, format="json")

    # then
    assert response.status_code == 404
    assert Lead.objects.get(id=lead.id).owner == people["erin"]


@pytest.mark.parametrize(("actor", "held_by", "moved"), [("charlie", "alice", True), ("charlie", "erin", False)])
def test_a_manager_moves_stages_by_hand_only_of_their_teams_leads(client, people, actor, held_by, moved):
    # given
    lead = _lead(people, held_by)
    client.force_login(people[actor])
    url = reverse("admin:leads_lead_change_stage", args=[lead.id])

    # when
    page = client.get(reverse("admin:leads_lead_change", args=[lead.id]))
    response = client.post(url, {"to_stage": Stage.NURTURE, "reason": "Not this quarter"})

    # then
    assert (url in page.content.decode()) is moved
    assert response.status_code == (302 if moved else 403)
    assert StageChange.objects.filter(lead=lead).exists() is moved


def test_marketing_ops_do_not_move_stages_by_hand(client, people):
    # given
    lead = _lead(people, None)
    client.force_login(people["olivia"])

    # when
    response = client.post(
        reverse("admin:leads_lead_change_stage", args=[lead.id]), {"to_stage": Stage.SQL, "reason": "x"}
    )

    # then
    assert response.status_code == 403
    assert Lead.objects.get(id=lead.id).stage == Stage.MQL


def test_the_service_refuses_marketing_ops_whatever_the_interface(people):
    # given
    lead = _lead(people, None)

    # when / then
    with pytest.raises(PermissionDenied, match="Only sales managers and admins"):
        lead_owner_set(lead_id=lead.id, owner_id=people["alice"].id, user=people["olivia"])
    assert Lead.objects.get(id=lead.id).owner is None


def test_an_assignment_that_ended_does_not_hold_the_lead(client, people):
    # given: Erin's assignment was closed, so the lead is nobody's
    lead = _lead(people, "assigned to erin")
    Assignment.objects.filter(lead=lead).update(status=AssignmentStatus.REASSIGNED)

    # when
    status_code = _set_owner_in_the_api(client, people["charlie"], lead, people["alice"])

    # then
    assert status_code == 200
    assert Lead.objects.get(id=lead.id).owner == people["alice"]
