"""Manual stage changes are on the record; scoring never moves a lead backwards."""

import pytest
from django.core.exceptions import ValidationError

from leads.models import Lead, Stage, StageChange
from leads.services.stages import lead_stage_change, scoring_target_stage

pytestmark = pytest.mark.django_db


def test_a_manual_stage_change_records_actor_and_reason(charlie):
    lead = Lead.objects.create(email="ann@acme.io")

    lead_stage_change(lead_id=lead.id, to_stage=Stage.DISQUALIFIED, actor=charlie, reason="Competitor")

    lead.refresh_from_db()
    assert lead.stage == Stage.DISQUALIFIED
    change = StageChange.objects.get(lead=lead)
    assert (change.from_stage, change.to_stage, change.actor, change.reason) == (
        "new",
        "disqualified",
        charlie,
        "Competitor",
    )


@pytest.mark.parametrize(
    ("to_stage", "reason", "field"),
    [
        (Stage.DISQUALIFIED, "  ", "reason"),
        (Stage.NURTURE, "", "reason"),
        ("promoted", "x", "to_stage"),
        (Stage.NEW, "", "to_stage"),
    ],
)
def test_a_bad_manual_stage_change_names_the_field_and_changes_nothing(charlie, to_stage, reason, field):
    lead = Lead.objects.create(email="ben@acme.io")

    with pytest.raises(ValidationError) as error:
        lead_stage_change(lead_id=lead.id, to_stage=to_stage, actor=charlie, reason=reason)

    assert field in error.value.message_dict
    assert not StageChange.objects.exists()
    lead.refresh_from_db()
    assert lead.stage == Stage.NEW


@pytest.mark.parametrize(
    ("current", "supported", "expected"),
    [
        (Stage.NEW, "mql", Stage.MQL),
        (Stage.NEW, "pql", Stage.PQL),
        (Stage.NURTURE, "mql", Stage.MQL),
        (Stage.MQL, "pql", Stage.PQL),
        (Stage.MQL, "mql", None),
        (Stage.PQL, "mql", None),
        (Stage.MQL, None, None),
        (Stage.PQL, None, None),
        (Stage.ACCEPTED, "pql", None),
        (Stage.SQL, "pql", None),
        (Stage.DISQUALIFIED, "mql", None),
        (Stage.WON, "pql", None),
    ],
)
def test_scoring_only_promotes_and_pql_outranks_mql(current, supported, expected):
    assert scoring_target_stage(current=current, supported=supported) == expected


def test_a_manager_changes_a_stage_in_the_admin_with_a_reason(client, charlie):
    # given
    from leads.services.roles import roles_sync

    roles_sync()
    lead = Lead.objects.create(email="cat@acme.io")
    client.force_login(charlie)

    # when
    page = client.get(f"/admin/leads/lead/{lead.id}/change-stage/")
    response = client.post(
        f"/admin/leads/lead/{lead.id}/change-stage/", {"to_stage": Stage.NURTURE, "reason": "Not this quarter"}
    )

    # then
    assert page.status_code == 200
    assert response.status_code == 302
    change = StageChange.objects.get(lead=lead)
    assert (change.to_stage, change.actor, change.reason) == ("nurture", charlie, "Not this quarter")


def test_the_admin_stage_form_shows_a_missing_reason_and_changes_nothing(client, charlie):
    from leads.services.roles import roles_sync

    roles_sync()
    lead = Lead.objects.create(email="dan@acme.io")
    client.force_login(charlie)

    response = client.post(f"/admin/leads/lead/{lead.id}/change-stage/", {"to_stage": Stage.DISQUALIFIED, "reason": ""})

    assert response.status_code == 200
    assert "Say why" in response.content.decode()
    assert not StageChange.objects.exists()


def test_a_rep_cannot_change_stages_in_the_admin(client, alice):
    lead = Lead.objects.create(email="eli@acme.io")
    client.force_login(alice)

    response = client.post(f"/admin/leads/lead/{lead.id}/change-stage/", {"to_stage": Stage.SQL, "reason": "x"})

    assert response.status_code in (302, 403)
    assert not StageChange.objects.exists()


@pytest.mark.parametrize(("current", "expected"), [(Stage.NURTURE, None), (Stage.NEW, Stage.MQL)])
def test_a_nurtured_lead_qualifies_again_only_on_new_evidence(current, expected):
    assert scoring_target_stage(current=current, supported="mql", has_new_evidence=False) == expected
