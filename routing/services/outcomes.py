"""Outcomes from the CRM: recorded once per CRM record, linked to what they name, moving leads' stages.

Meetings, opportunities and closed won or lost deals arrive by API (a CRM webhook, one or a
list), by CSV (`import_csv outcomes`, the admin's import) and from the demo; all of them come
here. Each is keyed by the CRM's `external_id`:
- a record seen for the first time is created;
- the same record again with the same data changes nothing (`unchanged`), so a webhook that
  retries, or a CSV imported twice, is harmless;
- the same record with changed data updates the stored outcome (a CRM resends the whole record
  when, say, an opportunity's amount changes): what it now says replaces what it said.

An outcome names its lead by id or email and its account by id or domain. An email or domain
nobody has yet is kept on the outcome (unmatched, listed in the admin and the API) and linked by
`outcomes_link_unmatched` once that lead or account appears (a beat sweep).

Stages move forward only, with the outcome as evidence on the stage change (`outcome_target_stage`):
a meeting held makes the lead an SQL (the seeds: a discovery call is what verifies fit, need and
timing), an opportunity an opportunity, a closed deal won or lost. The lead named moves, or, when
the outcome names no lead, every unmerged lead of the account. Terminal stages stay as they are,
with two corrections: a win moves a lost lead to won (a deal lost and later won, re-opened or
next quarter: the win is the last word on revenue), and a record corrected from closed won to
closed lost takes back the wins it made (unless another win stands). A lead reaching won or lost
has its open assignments closed, as by hand (routing.services.ownership.lead_stage_set).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from leads.models import (
    UNMATCHED_OUTCOME,
    Account,
    Identity,
    IdentityKind,
    Lead,
    Outcome,
    OutcomeKind,
    Stage,
    StageChange,
)
from leads.services.stages import TERMINAL_STAGES, StageTransition, leads_stage_transition_bulk
from routing.models import ACTIVE_ASSIGNMENT_STATUSES, Assignment, AssignmentStatus
from routing.services.outcome_input import CLOSED_KINDS, EXTERNAL_ID_MAX_LENGTH, OutcomeInput, outcome_input_check

# The system actor of the stage changes outcomes make (scoring's are "scoring").
ACTOR_LABEL = "outcome"
LINK_BATCH = 500

TARGET_STAGES = {
    OutcomeKind.MEETING: Stage.SQL,
    OutcomeKind.OPPORTUNITY: Stage.OPPORTUNITY,
    OutcomeKind.CLOSED_WON: Stage.WON,
    OutcomeKind.CLOSED_LOST: Stage.LOST,
}
# How far along the way to a deal each stage in play is: an outcome only ever moves a lead further.
# Nurture (recycled) and new are where a lead starts over; MQL and PQL are the same distance out.
_PROGRESS = {
    Stage.NEW: 0,
    Stage.NURTURE: 0,
    Stage.MQL: 1,
    Stage.PQL: 1,
    Stage.ACCEPTED: 2,
    Stage.SQL: 3,
    Stage.OPPORTUNITY: 4,
}


class RecordStatus:
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class OutcomeRecorded:
    outcome: Outcome
    status: str
    moved_lead_ids: tuple[int, ...] = ()


def outcome_target_stage(*, current: str, kind: str) -> str | None:
    """The stage an outcome of `kind` moves a lead in `current` to, or None to leave it."""
    target = TARGET_STAGES[kind]
    if current == target:
        return None
    if current in TERMINAL_STAGES:
        return Stage.WON if kind == OutcomeKind.CLOSED_WON and current == Stage.LOST else None
    if target in TERMINAL_STAGES:
        return target
    return target if _PROGRESS[current] < _PROGRESS[target] else None


# --- resolving what an outcome names ----------------------------------------------------------


def _survivor(lead: Lead | None) -> Lead | None:
    """A merged lead's outcomes belong to the person it became."""
    seen = set()
    while lead is not None and lead.merged_into_id is not None and lead.id not in seen:
        seen.add(lead.id)
        lead = Lead.objects.filter(id=lead.merged_into_id).first()
    return lead


def lead_for_email(email: str) -> Lead | None:
    """The lead of an (already normalized) email: its own address, else an email identity of it."""
    lead = Lead.objects.filter(email=email).first()
    if lead is None:
        identity = Identity.objects.select_related("lead").filter(kind=IdentityKind.EMAIL, value=email).first()
        lead = identity.lead if identity is not None else None
    return _survivor(lead)


def _resolve(data: OutcomeInput) -> tuple[Lead | None, Account | None]:
    """The lead and account the outcome names; an unknown id is an error naming the field,
    an unknown email or domain is None (kept on the outcome, linked later)."""
    errors: dict[str, list[str]] = {}
    lead = account = None
    if data.lead_id is not None:
        lead = _survivor(Lead.objects.filter(id=data.lead_id).first())
        if lead is None:
            errors["lead_id"] = [f"No lead has id {data.lead_id}."]
        elif data.lead_email and lead_for_email(data.lead_email) not in (None, lead):
            errors["lead_email"] = [f"{data.lead_email} is another lead than lead {data.lead_id}."]
    elif data.lead_email:
        lead = lead_for_email(data.lead_email)
    if data.account_id is not None:
        account = Account.objects.filter(id=data.account_id).first()
        if account is None:
            errors["account_id"] = [f"No account has id {data.account_id}."]
    elif data.account_domain:
        account = Account.objects.filter(domain=data.account_domain).first()
    if errors:
        raise ValidationError(errors)
    return lead, account


# --- moving stages -----------------------------------------------------------------------------


def _evidence(outcome: Outcome) -> dict:
    return {
        "outcome_id": outcome.id,
        "kind": outcome.kind,
        "external_id": outcome.external_id,
        "amount": str(outcome.amount) if outcome.amount is not None else None,
        "currency": outcome.currency,
        "occurred_at": outcome.occurred_at.isoformat(),
        "opened_at": outcome.opened_at.isoformat() if outcome.opened_at is not None else None,
        "on_account": outcome.lead_id is None,
    }


def outcome_describe(outcome: Outcome, *, kind: str | None = None) -> str:
    """`Closed won in the CRM (opp-1, 12,500.00 USD)`: the reason on the stage changes it makes."""
    details = [outcome.external_id or f"outcome {outcome.id}"]
    if outcome.amount is not None:
        details.append(f"{outcome.amount:,.2f} {outcome.currency}")
    where = " on the account" if outcome.lead_id is None else ""
    return f"{OutcomeKind(kind or outcome.kind).label} in the CRM{where} ({', '.join(details)})"


def _leads_moved_by(outcome: Outcome) -> list[Lead]:
    """The leads the outcome speaks of, locked: the lead it names, or the account's leads when it names none."""
    if outcome.lead_id is not None:
        leads = Lead.objects.filter(id=outcome.lead_id)
    elif outcome.account_id is not None and not outcome.lead_email:
        leads = Lead.objects.filter(account_id=outcome.account_id, merged_into__isnull=True)
    else:
        # It names a lead nobody knows yet: that person moves once linked, not their colleagues.
        return []
    return list(leads.select_for_update().order_by("id"))


def _leads_move(leads: list[Lead], *, to_stage_of, outcome: Outcome, opening: bool = False) -> list[int]:
    """Move each lead to `to_stage_of(lead)` (None: stays) with the outcome as evidence; close the
    open assignments of those that reach won or lost. `opening`: the opportunity step of a closed
    deal that says when it was opened, dated then."""
    now = timezone.now()
    reason = outcome_describe(outcome, kind=OutcomeKind.OPPORTUNITY if opening else None)
    happened_at = outcome.opened_at if opening else outcome.occurred_at
    transitions = []
    for lead in leads:
        to_stage = to_stage_of(lead)
        if to_stage is None:
            continue
        # When it happened, but never before the lead's current stage began: history stays in order.
        at = min(max(happened_at, lead.stage_changed_at), now)
        transitions.append(StageTransition(lead.id, lead.stage, to_stage, at, ACTOR_LABEL, reason, _evidence(outcome)))
        lead.stage, lead.stage_changed_at = to_stage, at
    if not transitions:
        return []
    leads_stage_transition_bulk(transitions=transitions)
    moved = [transition.lead_id for transition in transitions]
    # The transition writes the outcome's time as updated_at; the row did change now.
    Lead.objects.filter(id__in=moved).update(updated_at=now)
    for to_stage in {t.to_stage for t in transitions} & TERMINAL_STAGES:
        closed = [t.lead_id for t in transitions if t.to_stage == to_stage]
        # Nobody works a lead that is won or lost: an open assignment would keep it in a rep's
        # queue, under the SLA sweep and open to reassignment.
        Assignment.objects.filter(lead_id__in=closed, status__in=ACTIVE_ASSIGNMENT_STATUSES).update(
            status=AssignmentStatus.CLOSED,
            closed_at=now,
            close_reason=f"Lead moved to {Stage(to_stage).label}: {reason}"[:500],
        )
    return moved


def _outcome_apply(outcome: Outcome) -> list[int]:
    """Move the leads the outcome speaks of. Safe to repeat: stages only move forward.

    A closed deal that says when its opportunity was opened takes the lead through opportunity
    then, so stage history (and time from opportunity to close) is whole.
    """
    leads = _leads_moved_by(outcome)
    moved = []
    if outcome.opened_at is not None and outcome.kind in CLOSED_KINDS:
        moved += _leads_move(
            leads,
            to_stage_of=lambda lead: outcome_target_stage(current=lead.stage, kind=OutcomeKind.OPPORTUNITY),
            outcome=outcome,
            opening=True,
        )
    moved += _leads_move(
        leads, to_stage_of=lambda lead: outcome_target_stage(current=lead.stage, kind=outcome.kind), outcome=outcome
    )
    return sorted(set(moved))


def _wins_withdraw(outcome: Outcome) -> list[int]:
    """The record that made leads won now says closed lost: they are lost, unless another win stands."""
    won_by_it = StageChange.objects.filter(
        evidence__external_id=outcome.external_id, to_stage=Stage.WON, actor_label=ACTOR_LABEL
    ).values("lead_id")
    leads = list(Lead.objects.select_for_update().filter(id__in=won_by_it, stage=Stage.WON).order_by("id"))
    other_wins = Outcome.objects.filter(kind=OutcomeKind.CLOSED_WON).exclude(id=outcome.id)

    def to_stage_of(lead: Lead) -> str | None:
        names_it = Q(lead_id=lead.id)
        if lead.account_id is not None:
            names_it |= Q(account_id=lead.account_id, lead__isnull=True, lead_email__isnull=True)
        return None if other_wins.filter(names_it).exists() else Stage.LOST

    return _leads_move(leads, to_stage_of=to_stage_of, outcome=outcome)


# --- recording ---------------------------------------------------------------------------------


def _opened_at(data: OutcomeInput, stored: Outcome | None):
    """A closed deal resent without its opening keeps the one known: the one it said before, or
    the creation of the opportunity this same record was."""
    if data.opened_at is not None or data.kind not in CLOSED_KINDS or stored is None:
        return data.opened_at
    if stored.kind == OutcomeKind.OPPORTUNITY:
        return stored.occurred_at
    return stored.opened_at


def _stored_values(data: OutcomeInput, lead: Lead | None, account: Account | None, stored=None) -> dict:
    return {
        "kind": data.kind,
        "occurred_at": data.occurred_at,
        "opened_at": _opened_at(data, stored),
        "amount": data.amount,
        "currency": data.currency,
        "lead_email": data.lead_email,
        "account_domain": data.account_domain,
        "lead_id": lead.id if lead is not None else None,
        "account_id": account.id if account is not None else None,
    }


def _is_same(outcome: Outcome, values: dict) -> bool:
    return all(getattr(outcome, name) == value for name, value in values.items())


@transaction.atomic
def outcome_record(*, data: OutcomeInput) -> OutcomeRecorded:
    """Record one outcome (created, updated or unchanged by its external_id) and move the leads it speaks of.

    Raises ValidationError naming the field when it names a lead or account id that does not exist.
    """
    lead, account = _resolve(data)
    values = _stored_values(data, lead, account)
    # Locked: two deliveries of one record at once are applied one after the other.
    outcome, is_created = Outcome.objects.select_for_update().get_or_create(
        external_id=data.external_id, defaults=values
    )
    if is_created:
        return OutcomeRecorded(outcome, RecordStatus.CREATED, tuple(_outcome_apply(outcome)))
    values = _stored_values(data, lead, account, stored=outcome)
    if _is_same(outcome, values):
        return OutcomeRecorded(outcome, RecordStatus.UNCHANGED)
    was_won = outcome.kind == OutcomeKind.CLOSED_WON
    for name, value in values.items():
        setattr(outcome, name, value)
    outcome.save()
    moved = _outcome_apply(outcome)
    if was_won and outcome.kind == OutcomeKind.CLOSED_LOST:
        moved += _wins_withdraw(outcome)
    return OutcomeRecorded(outcome, RecordStatus.UPDATED, tuple(moved))


# --- linking the unmatched ---------------------------------------------------------------------


def outcome_list_linkable():
    """Unmatched outcomes whose lead or account is known now (ids, oldest first)."""
    lead_known = Exists(Lead.objects.filter(email=OuterRef("lead_email"))) | Exists(
        Identity.objects.filter(kind=IdentityKind.EMAIL, value=OuterRef("lead_email"))
    )
    account_known = Exists(Account.objects.filter(domain=OuterRef("account_domain")))
    return (
        Outcome.objects.filter(UNMATCHED_OUTCOME)
        .filter(
            (Q(lead__isnull=True, lead_email__isnull=False) & lead_known) | (Q(account__isnull=True) & account_known)
        )
        .order_by("id")
        .values_list("id", flat=True)
    )


@transaction.atomic
def outcome_link(*, outcome_id: int) -> bool:
    """Link an unmatched outcome to the lead or account it named, if known now, and move them. Idempotent."""
    try:
        outcome = Outcome.objects.select_for_update().get(id=outcome_id)
    except ObjectDoesNotExist:
        return False
    changed = []
    if outcome.lead_id is None and outcome.lead_email:
        lead = lead_for_email(outcome.lead_email)
        if lead is not None:
            outcome.lead = lead
            changed.append("lead")
    if outcome.account_id is None and outcome.account_domain:
        account = Account.objects.filter(domain=outcome.account_domain).first()
        if account is not None:
            outcome.account = account
            changed.append("account")
    if not changed:
        return False
    outcome.save(update_fields=[*changed, "updated_at"])
    _outcome_apply(outcome)
    return True


def outcomes_link_unmatched(*, limit: int = LINK_BATCH) -> int:
    """The sweep (beat, and after a lead or account import): link the unmatched outcomes whose lead
    or account appeared since. Returns how many were linked; bounded, the next run takes the rest."""
    return sum(outcome_link(outcome_id=outcome_id) for outcome_id in list(outcome_list_linkable()[:limit]))


# --- many at once (a CRM webhook's list) --------------------------------------------------------

REJECTED = "rejected"


@dataclass(frozen=True)
class OutcomeItemResult:
    index: int
    status: str  # a RecordStatus, or REJECTED
    external_id: str | None = None
    outcome: Outcome | None = None
    errors: dict[str, list[str]] | None = None


def outcomes_record(*, items: Sequence) -> list[OutcomeItemResult]:
    """Record each item on its own: a bad one is rejected with its errors by field, the others recorded."""
    results = []
    for index, raw in enumerate(items):
        external_id = raw.get("external_id") if isinstance(raw, Mapping) else None
        external_id = str(external_id).strip()[:EXTERNAL_ID_MAX_LENGTH] if isinstance(external_id, str | int) else None
        if not isinstance(raw, Mapping):
            results.append(
                OutcomeItemResult(index, REJECTED, errors={NON_FIELD_ERRORS: ["Each outcome is an object."]})
            )
            continue
        try:
            recorded = outcome_record(data=outcome_input_check(raw))
        except ValidationError as error:
            results.append(OutcomeItemResult(index, REJECTED, external_id, errors=error.message_dict))
            continue
        results.append(OutcomeItemResult(index, recorded.status, recorded.outcome.external_id, recorded.outcome))
    return results
