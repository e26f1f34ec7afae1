"""Reads for leads, accounts and events, with visibility enforced here.

Every list or detail the API and the UI show goes through these functions, so
the rule "a rep sees only their own leads" lives in exactly one place:
`_leads_visible_to`. Managers, marketing ops and admins see everything.
"""

from django.db.models import Prefetch, Q, QuerySet

from leads.models import Account, Event, Lead, StageChange
from qualify_site.roles import Role, user_has_role, user_sees_all_leads

RECENT_STAGE_CHANGES = 10
# routing.models.ACTIVE_ASSIGNMENT_STATUSES, by value: leads must not import routing.
ACTIVE_ASSIGNMENT_STATUS_VALUES = ("waiting", "open", "accepted")


def _leads_visible_to(user) -> QuerySet[Lead]:
    """All leads the user may see, merged ones included.

    A rep sees the leads they own, the leads of the accounts they own, and the
    leads assigned to them right now (a reassigned lead leaves with the assignment).
    """
    if not getattr(user, "is_authenticated", False):
        return Lead.objects.none()
    if user_sees_all_leads(user):
        return Lead.objects.all()
    if user_has_role(user, Role.REP):
        assigned = Lead.objects.filter(
            assignments__rep__user=user, assignments__status__in=ACTIVE_ASSIGNMENT_STATUS_VALUES
        ).values("id")
        return Lead.objects.filter(Q(owner=user) | Q(account__owner=user) | Q(id__in=assigned))
    return Lead.objects.none()


def _accounts_visible_to(user) -> QuerySet[Account]:
    """Accounts the user owns or that hold a lead they can see."""
    if not getattr(user, "is_authenticated", False):
        return Account.objects.none()
    if user_sees_all_leads(user):
        return Account.objects.all()
    if user_has_role(user, Role.REP):
        lead_accounts = _leads_visible_to(user).filter(account__isnull=False).values("account_id")
        return Account.objects.filter(Q(owner=user) | Q(id__in=lead_accounts))
    return Account.objects.none()


def lead_list(*, user, include_merged: bool = False) -> QuerySet[Lead]:
    leads = _leads_visible_to(user).select_related("account", "owner", "source", "campaign")
    if not include_merged:
        leads = leads.filter(merged_into__isnull=True)
    return leads


def lead_get(*, user, lead_id: int) -> Lead | None:
    """One lead with its identities, account and recent stage history; None when missing or not visible.

    A merged lead is still returned (its `merged_into` says where it went), so old links keep working.
    """
    recent_changes = StageChange.objects.select_related("actor").order_by("-changed_at", "-id")
    return (
        _leads_visible_to(user)
        .select_related("account", "account__owner", "owner", "source", "campaign")
        .prefetch_related(
            "identities",
            Prefetch("stage_changes", queryset=recent_changes[:RECENT_STAGE_CHANGES], to_attr="recent_stage_changes"),
        )
        .filter(id=lead_id)
        .first()
    )


def account_list(*, user) -> QuerySet[Account]:
    return _accounts_visible_to(user).select_related("owner")


def account_get(*, user, account_id: int) -> Account | None:
    return account_list(user=user).filter(id=account_id).first()


def event_list(*, user) -> QuerySet[Event]:
    """Events of visible leads. Events not tied to a lead are only shown to those who see everything."""
    events = Event.objects.select_related("source")
    if user_sees_all_leads(user):
        return events
    if not getattr(user, "is_authenticated", False):
        return events.none()
    return events.filter(lead_id__in=_leads_visible_to(user).values("id"))


def event_get(*, user, event_id: int) -> Event | None:
    return event_list(user=user).filter(id=event_id).first()
