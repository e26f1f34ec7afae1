"""Outcomes from the CRM: recorded once per record, linked to what they name (now or once it
appears), moving the leads' stages forward with the outcome as evidence, closing the open
assignments of won and lost leads, and on the lead's timeline."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads.models import Identity, IdentityKind, Lead, Outcome, OutcomeKind, Stage, StageChange
from routing.models import AssignmentStatus
from routing.selectors.workspace import lead_timeline_page
from routing.services.assignments import lead_route
from routing.services.outcome_input import OutcomeInput, outcome_input_check
from routing.services.outcomes import (
    ACTOR_LABEL,
    RecordStatus,
    outcome_record,
    outcome_target_stage,
    outcomes_link_unmatched,
)
from tests.routing.world import make_account, make_lead, make_queue, make_rep, rep_user, rule

pytestmark = [pytest.mark.django_db]

DAY = timedelta(days=1)


def _outcome(external_id: str, kind: str, **fields) -> OutcomeInput:
    """Checked as the API and the CSV import check what they are sent."""
    fields.setdefault("occurred_at", timezone.now() - DAY)
    return outcome_input_check({"external_id": external_id, "kind": kind, **fields})


@pytest.fixture
def desk(django_user_model):
    queue = make_queue("Inbound", [make_rep(rep_user(django_user_model, "ann"))])
    rule("All", queue, 1)
    return queue


# --- the stage an outcome moves a lead to ----------------------------------------------------


@pytest.mark.parametrize(
    ("current", "kind", "expected"),
    [
        (Stage.NEW, OutcomeKind.MEETING, Stage.SQL),
        (Stage.MQL, OutcomeKind.MEETING, Stage.SQL),
        (Stage.NURTURE, OutcomeKind.MEETING, Stage.SQL),
        (Stage.ACCEPTED, OutcomeKind.MEETING, Stage.SQL),
        (Stage.SQL, OutcomeKind.MEETING, None),
        (Stage.OPPORTUNITY, OutcomeKind.MEETING, None),
        (Stage.PQL, OutcomeKind.OPPORTUNITY, Stage.OPPORTUNITY),
        (Stage.OPPORTUNITY, OutcomeKind.OPPORTUNITY, None),
        (Stage.MQL, OutcomeKind.CLOSED_WON, Stage.WON),
        (Stage.OPPORTUNITY, OutcomeKind.CLOSED_LOST, Stage.LOST),
        # terminal stages stay, but a win after a loss is a win
        (Stage.LOST, OutcomeKind.CLOSED_WON, Stage.WON),
        (Stage.WON, OutcomeKind.CLOSED_LOST, None),
        (Stage.WON, OutcomeKind.MEETING, None),
        (Stage.DISQUALIFIED, OutcomeKind.CLOSED_WON, None),
        (Stage.LOST, OutcomeKind.OPPORTUNITY, None),
    ],
)
def test_an_outcome_only_moves_a_lead_forward(current, kind, expected):
    assert outcome_target_stage(current=current, kind=kind) == expected


# --- recording --------------------------------------------------------------------------------


def test_a_closed_won_outcome_moves_the_lead_to_won_with_the_outcome_as_evidence():
    # given
    lead = make_lead("ann@acme.com", stage=Stage.MQL)
    won_at = timezone.now() - DAY

    # when
    recorded = outcome_record(
        data=_outcome(
            "opp-1", OutcomeKind.CLOSED_WON, lead_email="ANN@Acme.com ", amount=Decimal("12500"), occurred_at=won_at
        )
    )

    # then
    lead.refresh_from_db()
    assert recorded.status == RecordStatus.CREATED and recorded.moved_lead_ids == (lead.id,)
    assert recorded.outcome.lead_id == lead.id and recorded.outcome.lead_email == "ann@acme.com"
    assert lead.stage == Stage.WON
    change = StageChange.objects.get(lead=lead)
    assert (change.from_stage, change.to_stage, change.actor_label) == (Stage.MQL, Stage.WON, ACTOR_LABEL)
    assert change.evidence["kind"] == "closed_won" and change.evidence["external_id"] == "opp-1"
    assert change.evidence["amount"] == "12500.00" and change.evidence["outcome_id"] == recorded.outcome.id
    assert change.reason == "Closed won in the CRM (opp-1, 12,500.00 USD)"


def test_the_stage_change_is_dated_when_it_happened_but_never_before_the_current_stage_began():
    # given: a lead that became an MQL three days ago
    lead = make_lead("ann@acme.com", stage=Stage.MQL)
    Lead.objects.filter(id=lead.id).update(stage_changed_at=timezone.now() - 3 * DAY)
    meeting_at, much_earlier = timezone.now() - DAY, timezone.now() - 30 * DAY

    # when
    outcome_record(data=_outcome("mtg-1", OutcomeKind.MEETING, lead_id=lead.id, occurred_at=meeting_at))
    outcome_record(data=_outcome("opp-1", OutcomeKind.OPPORTUNITY, lead_id=lead.id, occurred_at=much_earlier))

    # then
    changes = list(StageChange.objects.filter(lead=lead).order_by("id"))
    assert [(c.to_stage, c.changed_at) for c in changes] == [(Stage.SQL, meeting_at), (Stage.OPPORTUNITY, meeting_at)]


def test_the_same_record_sent_again_changes_nothing():
    # given
    lead = make_lead("ann@acme.com", stage=Stage.MQL)
    data = _outcome("opp-1", OutcomeKind.OPPORTUNITY, lead_email="ann@acme.com", amount=Decimal("900"))
    first = outcome_record(data=data)

    # when
    again = outcome_record(data=data)

    # then
    assert again.status == RecordStatus.UNCHANGED and again.moved_lead_ids == ()
    assert again.outcome.id == first.outcome.id and Outcome.objects.count() == 1
    assert StageChange.objects.filter(lead=lead).count() == 1


def test_the_same_record_with_a_changed_amount_updates_the_outcome():
    # given
    make_lead("ann@acme.com", stage=Stage.MQL)
    outcome_record(data=_outcome("opp-1", OutcomeKind.OPPORTUNITY, lead_email="ann@acme.com", amount=Decimal("900")))

    # when
    again = outcome_record(
        data=_outcome("opp-1", OutcomeKind.OPPORTUNITY, lead_email="ann@acme.com", amount=Decimal("1500"))
    )

    # then
    assert again.status == RecordStatus.UPDATED and again.moved_lead_ids == ()
    assert Outcome.objects.get().amount == Decimal("1500")


def test_an_opportunity_resent_as_closed_won_moves_the_lead_on():
    # given
    lead = make_lead("ann@acme.com", stage=Stage.MQL)
    outcome_record(data=_outcome("opp-1", OutcomeKind.OPPORTUNITY, lead_id=lead.id, amount=Decimal("900")))

    # when
    again = outcome_record(data=_outcome("opp-1", OutcomeKind.CLOSED_WON, lead_id=lead.id, amount=Decimal("900")))

    # then
    lead.refresh_from_db()
    assert again.status == RecordStatus.UPDATED and lead.stage == Stage.WON
    assert Outcome.objects.count() == 1


def test_a_closed_deal_that_says_when_it_was_opened_takes_the_lead_through_opportunity_then():
    # given
    lead = make_lead("ann@acme.com", stage=Stage.MQL)
    Lead.objects.filter(id=lead.id).update(stage_changed_at=timezone.now() - 60 * DAY)
    opened_at, won_at = timezone.now() - 30 * DAY, timezone.now() - DAY

    # when
    recorded = outcome_record(
        data=_outcome("opp-1", OutcomeKind.CLOSED_WON, lead_id=lead.id, opened_at=opened_at, occurred_at=won_at)
    )

    # then
    changes = list(StageChange.objects.filter(lead=lead).order_by("changed_at"))
    assert [(c.from_stage, c.to_stage, c.changed_at) for c in changes] == [
        (Stage.MQL, Stage.OPPORTUNITY, opened_at),
        (Stage.OPPORTUNITY, Stage.WON, won_at),
    ]
    assert changes[0].reason == "Opportunity created in the CRM (opp-1)"
    assert recorded.moved_lead_ids == (lead.id,)


def test_an_opportunity_resent_closed_keeps_when_it_was_opened():
    # given
    lead = make_lead("ann@acme.com", stage=Stage.MQL)
    opened_at = timezone.now() - 30 * DAY
    outcome_record(data=_outcome("opp-1", OutcomeKind.OPPORTUNITY, lead_id=lead.id, occurred_at=opened_at))

    # when: the CRM sends the same record closed, without its opening, twice
    closed = _outcome("opp-1", OutcomeKind.CLOSED_LOST, lead_id=lead.id)
    first, again = outcome_record(data=closed), outcome_record(data=closed)

    # then
    assert (first.status, again.status) == (RecordStatus.UPDATED, RecordStatus.UNCHANGED)
    assert Outcome.objects.get().opened_at == opened_at
    lead.refresh_from_db()
    assert lead.stage == Stage.LOST


@pytest.mark.parametrize(
    ("kind", "opened_days_ago", "message"),
    [("meeting", 3, "Only a closed deal"), ("closed_won", 0.5, "after the deal closed")],
)
def test_an_opening_is_for_a_closed_deal_and_before_it_closed(kind, opened_days_ago, message):
    with pytest.raises(ValidationError) as raised:
        _outcome("opp-1", kind, lead_email="ann@acme.com", opened_at=timezone.now() - opened_days_ago * DAY)
    assert message in raised.value.message_dict["opened_at"][0]


def test_a_record_corrected_from_won_to_lost_takes_its_win_back_unless_another_win_stands():
    # given: ann won by opp-1; bob by opp-2 and opp-3
    ann = make_lead("ann@acme.com", stage=Stage.OPPORTUNITY)
    bob = make_lead("bob@acme.com", stage=Stage.OPPORTUNITY)
    outcome_record(data=_outcome("opp-1", OutcomeKind.CLOSED_WON, lead_id=ann.id))
    outcome_record(data=_outcome("opp-2", OutcomeKind.CLOSED_WON, lead_id=bob.id))
    outcome_record(data=_outcome("opp-3", OutcomeKind.CLOSED_WON, lead_id=bob.id))

    # when: the CRM corrects opp-1 and opp-2 to closed lost
    outcome_record(data=_outcome("opp-1", OutcomeKind.CLOSED_LOST, lead_id=ann.id))
    outcome_record(data=_outcome("opp-2", OutcomeKind.CLOSED_LOST, lead_id=bob.id))

    # then
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert ann.stage == Stage.LOST and bob.stage == Stage.WON
    assert StageChange.objects.filter(lead=ann, from_stage=Stage.WON, to_stage=Stage.LOST).exists()


def test_a_lost_upsell_does_not_make_a_customer_lost_but_a_later_win_makes_a_lost_lead_won():
    # given
    customer = make_lead("ann@acme.com", stage=Stage.WON)
    lost = make_lead("bob@globex.com", stage=Stage.LOST)

    # when
    outcome_record(data=_outcome("upsell-1", OutcomeKind.CLOSED_LOST, lead_id=customer.id))
    outcome_record(data=_outcome("opp-9", OutcomeKind.CLOSED_WON, lead_id=lost.id))

    # then
    customer.refresh_from_db()
    lost.refresh_from_db()
    assert customer.stage == Stage.WON and lost.stage == Stage.WON


def test_a_disqualified_lead_stays_disqualified_with_the_outcome_recorded():
    # given
    lead = make_lead("ann@acme.com", stage=Stage.DISQUALIFIED)

    # when
    recorded = outcome_record(data=_outcome("opp-1", OutcomeKind.CLOSED_WON, lead_id=lead.id))

    # then
    lead.refresh_from_db()
    assert lead.stage == Stage.DISQUALIFIED and recorded.outcome.lead_id == lead.id


@pytest.mark.parametrize("kind", [OutcomeKind.CLOSED_WON, OutcomeKind.CLOSED_LOST])
def test_a_closing_outcome_closes_the_leads_open_assignment(desk, kind):
    # given
    assignment = lead_route(lead_id=make_lead("ann@acme.com").id, trigger="qualified")
    assert assignment.status == AssignmentStatus.OPEN

    # when
    outcome_record(data=_outcome("opp-1", kind, lead_id=assignment.lead_id))

    # then
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.CLOSED and assignment.closed_at is not None
    assert assignment.close_reason.startswith(f"Lead moved to {Stage.WON.label if kind == 'closed_won' else 'Lost'}")


def test_a_meeting_leaves_the_assignment_open(desk):
    # given
    assignment = lead_route(lead_id=make_lead("ann@acme.com").id, trigger="qualified")

    # when
    outcome_record(data=_outcome("mtg-1", OutcomeKind.MEETING, lead_id=assignment.lead_id))

    # then
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.OPEN and assignment.lead.stage == Stage.SQL


def test_an_account_outcome_moves_the_accounts_leads_in_play_but_not_merged_or_terminal_ones():
    # given
    acme = make_account("acme.com")
    in_play = [make_lead(f"{name}@acme.com", account=acme, stage=stage) for name, stage in (("a", "new"), ("b", "pql"))]
    disqualified = make_lead("c@acme.com", account=acme, stage=Stage.DISQUALIFIED)
    merged = make_lead("d@acme.com", account=acme, stage=Stage.MQL, merged_into=in_play[0])
    elsewhere = make_lead("e@globex.com", stage=Stage.MQL)

    # when
    recorded = outcome_record(data=_outcome("opp-1", OutcomeKind.CLOSED_WON, account_domain="https://www.ACME.com/"))

    # then
    assert recorded.outcome.account_id == acme.id and recorded.outcome.lead_id is None
    assert sorted(recorded.moved_lead_ids) == [lead.id for lead in in_play]
    stages = dict(Lead.objects.values_list("email", "stage"))
    assert stages == {
        "a@acme.com": Stage.WON,
        "b@acme.com": Stage.WON,
        disqualified.email: Stage.DISQUALIFIED,
        merged.email: Stage.MQL,
        elsewhere.email: Stage.MQL,
    }


def test_an_email_of_a_merged_lead_or_an_email_identity_resolves_to_the_survivor():
    # given
    survivor = make_lead("ann@acme.com", stage=Stage.MQL)
    make_lead("ann.old@acme.com", stage=Stage.NEW, merged_into=survivor)
    Identity.objects.create(kind=IdentityKind.EMAIL, value="ann@acme.io", lead=survivor)

    # when
    by_merged = outcome_record(data=_outcome("mtg-1", OutcomeKind.MEETING, lead_email="Ann.Old@acme.com"))
    by_identity = outcome_record(data=_outcome("mtg-2", OutcomeKind.MEETING, lead_email="ann@acme.io"))

    # then
    assert by_merged.outcome.lead_id == by_identity.outcome.lead_id == survivor.id


def test_an_unknown_lead_or_account_id_is_an_error_naming_the_field():
    # when
    with pytest.raises(ValidationError) as raised:
        outcome_record(data=_outcome("opp-1", OutcomeKind.MEETING, lead_id=999999, account_id=999999))

    # then
    assert set(raised.value.message_dict) == {"lead_id", "account_id"}
    assert not Outcome.objects.exists()


def test_the_check_lists_every_problem_by_field():
    # when
    with pytest.raises(ValidationError) as raised:
        outcome_input_check(
            {
                "external_id": " ",
                "kind": "signed",
                "occurred_at": (timezone.now() + DAY).isoformat(),
                "amount": "-5",
                "currency": "dollars",
                "lead_email": "not an email",
                "account_domain": "gmail.com",
            }
        )

    # then
    errors = raised.value.message_dict
    assert set(errors) == {"external_id", "kind", "occurred_at", "amount", "currency", "lead_email", "account_domain"}
    assert "in the future" in errors["occurred_at"][0] and "free-mail" in errors["account_domain"][0]


def test_an_outcome_must_name_a_lead_or_an_account():
    with pytest.raises(ValidationError) as raised:
        outcome_input_check({"external_id": "opp-1", "kind": "meeting", "occurred_at": "2026-01-05"})
    assert "Name a lead" in raised.value.messages[0]


# --- unmatched, then linked ----------------------------------------------------------------------


def test_an_outcome_naming_an_unknown_lead_is_kept_and_linked_when_that_lead_appears():
    # given: the CRM closed a deal with someone Qualify has not seen yet; their colleague is in play
    acme = make_account("acme.com")
    colleague = make_lead("bob@acme.com", account=acme, stage=Stage.MQL)
    recorded = outcome_record(
        data=_outcome("opp-1", OutcomeKind.CLOSED_WON, lead_email="ann@acme.com", account_domain="acme.com")
    )
    assert recorded.outcome.lead_id is None and recorded.outcome.is_unmatched
    assert outcomes_link_unmatched() == 0  # nobody to link yet

    # when: ann appears, and the sweep runs (twice)
    ann = make_lead("ann@acme.com", account=acme, stage=Stage.PQL)
    linked, again = outcomes_link_unmatched(), outcomes_link_unmatched()

    # then
    outcome = Outcome.objects.get()
    ann.refresh_from_db()
    colleague.refresh_from_db()
    assert (linked, again) == (1, 0)
    assert outcome.lead_id == ann.id and not outcome.is_unmatched
    assert ann.stage == Stage.WON and colleague.stage == Stage.MQL
    assert StageChange.objects.get(lead=ann).evidence["external_id"] == "opp-1"


def test_an_outcome_naming_an_unknown_account_is_linked_when_the_account_appears():
    # given
    outcome_record(data=_outcome("opp-1", OutcomeKind.OPPORTUNITY, account_domain="globex.com"))

    # when
    globex = make_account("globex.com")
    lead = make_lead("ann@globex.com", account=globex, stage=Stage.MQL)
    linked = outcomes_link_unmatched()

    # then
    lead.refresh_from_db()
    assert linked == 1 and Outcome.objects.get().account_id == globex.id
    assert lead.stage == Stage.OPPORTUNITY


# --- the timeline ----------------------------------------------------------------------------------


def test_the_outcome_and_the_stage_change_it_made_are_on_the_leads_timeline():
    # given
    acme = make_account("acme.com")
    lead = make_lead("ann@acme.com", account=acme, stage=Stage.MQL)
    outcome_record(data=_outcome("opp-1", OutcomeKind.CLOSED_WON, lead_id=lead.id, amount=Decimal("12500")))
    outcome_record(
        data=_outcome("mtg-9", OutcomeKind.MEETING, account_id=acme.id, occurred_at=timezone.now() - 2 * DAY)
    )
    # someone at acme not known yet: not ann's
    outcome_record(data=_outcome("opp-2", OutcomeKind.OPPORTUNITY, lead_email="zed@acme.com", account_id=acme.id))

    # when
    entries = lead_timeline_page(lead=lead).entries

    # then
    shown = [(entry.kind, entry.title, entry.detail) for entry in entries if entry.kind in ("outcome", "stage")]
    assert ("outcome", "Closed won", "12,500 USD · opp-1") in shown
    assert ("outcome", "Meeting held", "recorded on the account · mtg-9") in shown
    assert ("stage", "MQL → Won", "Closed won in the CRM (opp-1, 12,500.00 USD)") in shown
    assert not any("opp-2" in detail for _, _, detail in shown)
