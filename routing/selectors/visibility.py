"""Who sees which assignments and timelines, and the reads behind them."""

from django.db.models import (
    Q,
    QuerySet,
)

from leads.models import Lead, StageChange
from qualify_site.roles import Role, user_has_role
from routing.models import (
    Activity,
    Assignment,
    AssignmentStatus,
    Queue,
    Rep,
    RoutingDecision,
    RoutingRule,
)
from routing.permissions import reps_managed_by

# --- Visibility: who sees which assignments and timelines ------------------------------
#
# A rep sees their own assignments (not the ones taken from them: a reassigned
# lead leaves with the assignment); a manager sees their team's, plus the leads
# waiting in their team's queues or in the fallback queue (nobody else watches
# that one); admins see all; marketing ops none (they shape rules, not work).

TIMELINE_LIMIT = 200


def assignments_visible_to(user) -> QuerySet[Assignment]:
    if not getattr(user, "is_authenticated", False):
        return Assignment.objects.none()
    if user_has_role(user, Role.ADMIN):
        return Assignment.objects.all()
    visible = Q(pk__in=[])
    if user_has_role(user, Role.MANAGER):
        waiting_for_team = Q(rep__isnull=True) & (Q(queue__team__manager=user) | Q(queue__is_fallback=True))
        visible |= Q(rep__in=reps_managed_by(user)) | waiting_for_team
    if user_has_role(user, Role.REP):
        visible |= Q(rep__user=user) & ~Q(status=AssignmentStatus.REASSIGNED)
    return Assignment.objects.filter(visible)


def assignment_list(*, user) -> QuerySet[Assignment]:
    return assignments_visible_to(user).select_related(
        "lead", "lead__account", "rep", "rep__user", "queue", "rule", "sla_policy"
    )


def assignment_get(*, user, assignment_id: int) -> Assignment | None:
    return assignment_list(user=user).filter(id=assignment_id).first()


def lead_for_timeline(*, user, lead_id: int) -> Lead | None:
    """The lead if the user may read its timeline: the rep who holds or owns it, their manager, an admin.

    A rep "holds" a lead through an active assignment or through a past one they
    did not lose by reassignment (their own notes stay readable to them).
    """
    if not getattr(user, "is_authenticated", False):
        return None
    leads = Lead.objects.select_related("account", "owner")
    if user_has_role(user, Role.ADMIN):
        return leads.filter(id=lead_id).first()
    visible = Q(pk__in=[])
    if user_has_role(user, Role.MANAGER):
        managed = reps_managed_by(user)
        visible |= Q(id__in=assignments_visible_to(user).values("lead_id"))
        visible |= Q(owner__rep__in=managed)
    if user_has_role(user, Role.REP):
        visible |= Q(owner=user) | Q(account__owner=user) | Q(id__in=assignments_visible_to(user).values("lead_id"))
    return leads.filter(visible, id=lead_id).first()


def lead_timeline(*, lead: Lead) -> list[dict]:
    """Activities, stage changes and routing decisions of a lead, newest first (the latest TIMELINE_LIMIT)."""
    entries = []
    for activity in Activity.objects.filter(lead=lead).select_related("actor")[:TIMELINE_LIMIT]:
        entries.append(
            {
                "type": "activity",
                "id": activity.id,
                "at": activity.at,
                "kind": activity.kind,
                "actor": activity.actor,
                "summary": activity.get_kind_display() + (f": {activity.notes}" if activity.notes else ""),
                "assignment": activity.assignment_id,
                "detail": activity.detail,
            }
        )
    changes = StageChange.objects.filter(lead=lead).select_related("actor").order_by("-changed_at", "-id")
    for change in changes[:TIMELINE_LIMIT]:
        entries.append(
            {
                "type": "stage_change",
                "id": change.id,
                "at": change.changed_at,
                "kind": change.to_stage,
                "actor": change.actor,
                "summary": f"{change.from_stage} → {change.to_stage}" + (f": {change.reason}" if change.reason else ""),
                "assignment": None,
                "detail": {"from_stage": change.from_stage, "to_stage": change.to_stage, "evidence": change.evidence},
            }
        )
    decisions = RoutingDecision.objects.filter(lead=lead).select_related("actor")
    for decision in decisions[:TIMELINE_LIMIT]:
        entries.append(
            {
                "type": "routing_decision",
                "id": decision.id,
                "at": decision.decided_at,
                "kind": decision.trigger,
                "actor": decision.actor,
                "summary": decision.summary,
                "assignment": decision.assignment_id,
                "detail": decision.audit,
            }
        )
    # At the same instant (one transaction writes a decision and its "assigned" activity)
    # the decision came first, so newest first lists it after.
    order = {"routing_decision": 0, "activity": 1, "stage_change": 1}
    entries.sort(key=lambda entry: (entry["at"], order[entry["type"]], entry["id"]), reverse=True)
    return entries[:TIMELINE_LIMIT]


def route_preview_details(preview, *, lead_id: int) -> dict:
    """A RoutePreview with rows resolved for display (for the API and the admin's preview page)."""
    audit = preview.decision.to_dict()
    rep_ids = {check["rep_id"] for check in audit["reps"]} | {audit["rep_id"]}
    reps_by_id = {rep.id: rep for rep in Rep.objects.filter(id__in=rep_ids - {None}).select_related("user")}
    return {
        **audit,
        "lead": lead_id,
        "summary": preview.summary,
        "queue": Queue.objects.filter(id=audit["queue_id"]).first(),
        "rep": reps_by_id.get(audit["rep_id"]),
        "rule": RoutingRule.objects.filter(id=audit["rule_id"]).first() if audit["rule_id"] else None,
        "reps": [
            {**check, "rep_name": str(reps_by_id[check["rep_id"]]) if check["rep_id"] in reps_by_id else None}
            for check in audit["reps"]
        ],
    }
