"""Who owns a lead or an account, and moving a lead's stage by hand: sales management's calls.

The owner decides who sees and works a lead: a rep sees the leads they own and
every lead of an account they own (leads.selectors), and routing hands an
account's new leads to its owner. That is the call of whoever runs the reps,
not of marketing ops, who own the definitions (scoring) and not the people:
admins give anything to any rep; a manager gives what is their team's, or
nobody's yet, to their team's reps. Marketing ops see owners read-only. The
admin and the API both come here, so they cannot disagree.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from leads.models import Account, Lead
from leads.services.stages import TERMINAL_STAGES, lead_stage_change
from qualify_site.roles import Role, user_has_role
from routing.models import ACTIVE_ASSIGNMENT_STATUSES, Assignment, AssignmentStatus, Rep
from routing.permissions import check_can_manage
from routing.selectors.policy import active_assignment_for_lead

NOT_SALES_MANAGEMENT = "Only sales managers and admins decide this: ownership decides who sees and works a lead."


def _owner_rep(owner_id: int | None) -> Rep | None:
    return Rep.objects.select_related("team").filter(user_id=owner_id).first() if owner_id else None


def _check_holds(user, *, owner_id: int | None, lead_id: int | None = None) -> None:
    """The user may decide for a record held by `owner_id` (and, for a lead, by its active assignment)."""
    if not user_has_role(user, Role.MANAGER, Role.ADMIN):
        raise PermissionDenied(NOT_SALES_MANAGEMENT)
    if owner_id is not None:
        try:
            check_can_manage(user, _owner_rep(owner_id))
        except PermissionDenied:
            raise PermissionDenied("It is owned by a rep outside your team.") from None
    assignment = active_assignment_for_lead(lead_id) if lead_id is not None else None
    if assignment is not None:
        try:
            check_can_manage(user, assignment.rep, queue=assignment.queue)
        except PermissionDenied:
            raise PermissionDenied("It is assigned outside your team.") from None


def _check_new_owner(user, owner_id: int | None) -> None:
    if owner_id is None:
        return
    rep = _owner_rep(owner_id)
    if rep is None:
        user_model = get_user_model()
        name = user_model.objects.filter(id=owner_id).values_list(user_model.USERNAME_FIELD, flat=True).first()
        raise ValidationError({"owner": f"{name or f'User {owner_id}'} is not a sales rep; only reps own leads."})
    try:
        check_can_manage(user, rep)
    except PermissionDenied:
        raise PermissionDenied(f"{rep} is not on your team: a manager gives leads to their own reps.") from None


@transaction.atomic
def lead_owner_set(*, lead_id: int, owner_id: int | None, user) -> Lead:
    lead = Lead.objects.select_for_update().get(id=lead_id)
    _check_holds(user, owner_id=lead.owner_id, lead_id=lead.id)
    _check_new_owner(user, owner_id)
    if lead.owner_id != owner_id:
        lead.owner_id = owner_id
        lead.save(update_fields=["owner", "updated_at"])
    return lead


@transaction.atomic
def account_owner_set(*, account_id: int, owner_id: int | None, user) -> Account:
    account = Account.objects.select_for_update().get(id=account_id)
    _check_holds(user, owner_id=account.owner_id)
    _check_new_owner(user, owner_id)
    if account.owner_id != owner_id:
        account.owner_id = owner_id
        account.save(update_fields=["owner", "updated_at"])
    return account


def lead_can_decide(user, lead: Lead) -> bool:
    """Whether the user may set this lead's owner or move its stage by hand (for pages that offer it)."""
    try:
        _check_holds(user, owner_id=lead.owner_id, lead_id=lead.id)
    except PermissionDenied:
        return False
    return True


def account_can_decide(user, account: Account) -> bool:
    try:
        _check_holds(user, owner_id=account.owner_id)
    except PermissionDenied:
        return False
    return True


@transaction.atomic
def lead_stage_set(*, lead_id: int, to_stage: str, reason: str = "", user) -> Lead:
    """A manager (their team's leads) or an admin moves a lead's stage by hand, on the record."""
    lead = Lead.objects.select_for_update().get(id=lead_id)
    _check_holds(user, owner_id=lead.owner_id, lead_id=lead.id)
    lead = lead_stage_change(lead_id=lead.id, to_stage=to_stage, actor=user, reason=reason)
    if to_stage in TERMINAL_STAGES:
        # Closed with the stage move, in its transaction: an open assignment would keep the
        # lead in a rep's queue, under the SLA sweep and open to reassignment.
        Assignment.objects.filter(lead_id=lead.id, status__in=ACTIVE_ASSIGNMENT_STATUSES).update(
            status=AssignmentStatus.CLOSED,
            closed_at=lead.stage_changed_at,
            close_reason=f"Lead moved to {lead.get_stage_display()}",
        )
    return lead
