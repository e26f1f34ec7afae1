"""Reads for routing: the policy as the engine sees it, rep states, facts for a lead."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextChoices,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, DenseRank
from django.utils import timezone

from leads.emails import email_type
from leads.models import Lead, Stage, StageChange
from qualify_site.roles import Role, user_has_role
from routing.engine import (
    CompiledPolicy,
    OutOfOffice,
    QueueMember,
    RepState,
    RoutingFacts,
    RoutingPolicy,
    Territory,
    WorkingHours,
    compile_policy,
)
from routing.engine import Queue as EngineQueue
from routing.engine import RoutingRule as EngineRule
from routing.models import (
    ACTIVE_ASSIGNMENT_STATUSES,
    TOUCH_KINDS,
    Activity,
    Assignment,
    AssignmentStatus,
    Priority,
    Queue,
    Rep,
    RoutingDecision,
    RoutingRule,
    Strategy,
)
from routing.models import QueueMember as QueueMemberRow
from routing.models import Territory as TerritoryRow
from routing.permissions import reps_managed_by

STRATEGY_FOR_ENGINE = {
    Strategy.ROUND_ROBIN: "round_robin",
    Strategy.WEIGHTED: "weighted_round_robin",
    Strategy.LEAST_LOADED: "least_loaded",
}
# Assignments that count against a rep's capacity.
OPEN_STATUSES = (AssignmentStatus.OPEN, AssignmentStatus.ACCEPTED)


def territory_for_engine(row: TerritoryRow) -> Territory:
    band = ((row.employee_min, row.employee_max),) if row.employee_min or row.employee_max else ()
    return Territory.build(
        row.name, countries=row.countries, regions=row.regions, industries=row.industries, employee_bands=band
    )


def fallback_queue_id() -> int:
    """The fallback queue, created if someone deleted it: nothing is ever unroutable."""
    queue_id = Queue.objects.filter(is_fallback=True).values_list("id", flat=True).first()
    if queue_id is not None:
        return queue_id
    try:
        with transaction.atomic():
            name = "Fallback" if not Queue.objects.filter(name="Fallback").exists() else "Fallback (recreated)"
            return Queue.objects.create(name=name, is_fallback=True).id
    except IntegrityError:  # another worker recreated it first
        return Queue.objects.filter(is_fallback=True).values_list("id", flat=True).get()


def routing_policy(*, rules=None) -> RoutingPolicy:
    """The live rules (or `rules`, for previews of unsaved ones) as the engine's policy."""
    fallback = fallback_queue_id()
    if rules is None:
        rules = RoutingRule.objects.filter(is_active=True).select_related("territory").order_by("position", "id")
    return RoutingPolicy(
        rules=tuple(
            EngineRule(
                id=rule.id,
                name=rule.name,
                position=rule.position,
                queue_id=rule.queue_id,
                condition=rule.condition or None,
                territory=territory_for_engine(rule.territory) if rule.territory_id else None,
                priority=rule.priority,
            )
            for rule in rules
        ),
        fallback_queue_id=fallback,
    )


def routing_policy_compiled() -> CompiledPolicy:
    """Compiled once per rule-set content (the engine caches by hash)."""
    return compile_policy(routing_policy())


def routing_facts_for_lead(lead: Lead) -> RoutingFacts:
    account_id = lead.account_id
    owner_user_id = lead.account.owner_id if account_id else None
    return routing_facts(
        lead,
        account_owner_id=account_owner_rep_ids([owner_user_id]).get(owner_user_id),
        account_rep_ids=account_recent_rep_ids([account_id], exclude_lead_id=lead.id).get(account_id, ())
        if account_id
        else (),
    )


def account_owner_rep_ids(user_ids) -> dict[int, int]:
    """Account owners (users) to their rep ids; owners without a routing profile are left out."""
    user_ids = [user_id for user_id in user_ids if user_id is not None]
    if not user_ids:
        return {}
    return dict(Rep.objects.filter(user_id__in=user_ids).values_list("user_id", "id"))


# How many of an account's latest open assignments name the reps already working it.
ACCOUNT_RECENT_ASSIGNMENTS = 3


def account_recent_assignments(account_ids, *, exclude_lead_id=None) -> dict[int, list[tuple[datetime, int]]]:
    """Per account, its latest open assignments as (assigned_at, rep id), newest first, at most
    ACCOUNT_RECENT_ASSIGNMENTS distinct pairs: one query for many accounts (a window per account)."""
    account_ids = [account_id for account_id in account_ids if account_id is not None]
    if not account_ids:
        return {}
    open_with_rep = Assignment.objects.filter(
        lead__account_id__in=account_ids, status__in=OPEN_STATUSES, rep__isnull=False
    )
    if exclude_lead_id is not None:
        open_with_rep = open_with_rep.exclude(lead_id=exclude_lead_id)
    # A dense rank over (time, rep) numbers the distinct pairs, as DISTINCT ... LIMIT did per account.
    ranked = (
        open_with_rep.annotate(
            rank=Window(
                DenseRank(), partition_by=F("lead__account_id"), order_by=(F("assigned_at").desc(), F("rep_id").asc())
            )
        )
        .filter(rank__lte=ACCOUNT_RECENT_ASSIGNMENTS)
        .values_list("lead__account_id", "assigned_at", "rep_id")
        .order_by("lead__account_id", "rank")
    )
    recent: dict[int, list[tuple[datetime, int]]] = {}
    for account_id, assigned_at, rep_id in ranked:
        pairs = recent.setdefault(account_id, [])
        if not pairs or pairs[-1] != (assigned_at, rep_id):
            pairs.append((assigned_at, rep_id))
    return recent


def account_recent_rep_ids(account_ids, *, exclude_lead_id=None) -> dict[int, tuple[int, ...]]:
    """Per account, the reps holding its latest open assignments, most recent first."""
    return {
        account_id: tuple(rep_id for _, rep_id in pairs)
        for account_id, pairs in account_recent_assignments(account_ids, exclude_lead_id=exclude_lead_id).items()
    }


def routing_facts(lead: Lead, *, account_owner_id: int | None, account_rep_ids: tuple) -> RoutingFacts:
    """The engine's facts for a lead (with account and score loaded) and its account's reps, already looked up."""
    account = lead.account
    score = getattr(lead, "score", None)
    lead_facts = {
        "stage": lead.stage,
        "title": lead.title,
        "department": lead.department,
        "seniority": lead.seniority,
        "country": lead.country,
        "region": lead.region,
        "email_type": email_type(lead.email),
        "source": lead.source.name if lead.source_id else "",
        "source_kind": lead.source.kind if lead.source_id else "",
        "campaign": lead.campaign.name if lead.campaign_id else "",
        "campaign_type": lead.campaign.type if lead.campaign_id else "",
    }
    account_facts = {}
    if account is not None:
        account_facts = {
            "name": account.name,
            "domain": account.domain or "",
            "industry": account.industry,
            "employee_count": account.employee_count,
            "country": account.country,
            "region": account.region,
            "segment": account.segment,
            "plan": account.plan,
            "seats": account.seats,
            "has_owner": account.owner_id is not None,
        }
    score_facts = (
        {
            "total": score.total,
            "fit": score.fit,
            "engagement": score.engagement,
            "grade": score.grade,
            "is_hot": score.is_hot,
            "is_mql": score.is_mql,
            "pql_path": score.pql_path,
        }
        if score is not None
        else {}
    )
    return RoutingFacts(
        lead=lead_facts,
        account=account_facts,
        score=score_facts,
        account_owner_id=account_owner_id if account is not None else None,
        account_rep_ids=account_rep_ids if account is not None else (),
        lead_id=lead.id,
    )


def open_assignment_counts(rep_ids) -> dict[int, int]:
    rows = (
        Assignment.objects.filter(rep_id__in=rep_ids, status__in=OPEN_STATUSES)
        .values("rep_id")
        .annotate(open=Count("id"))
    )
    return {row["rep_id"]: row["open"] for row in rows}


def rep_states(reps: list[Rep], *, now: datetime) -> dict[int, RepState]:
    """Reps as the engine sees them at `now` (reps come with territories, out-of-office
    and holidays prefetched; see `reps_for_routing`)."""
    counts = open_assignment_counts([rep.id for rep in reps])
    states = {}
    for rep in reps:
        states[rep.id] = RepState(
            id=rep.id,
            name=str(rep),
            is_active=rep.is_active and rep.user.is_active,
            capacity=rep.capacity,
            open_assignments=counts.get(rep.id, 0),
            out_of_office=tuple(
                OutOfOffice(start=ooo.starts_at, end=ooo.ends_at, note=ooo.note)
                for ooo in rep.out_of_office.all()
                if ooo.ends_at > now
            ),
            time_zone=rep.time_zone,
            working_hours=rep_working_hours(rep),
            holidays=rep_holidays(rep),
            territories=tuple(territory_for_engine(territory) for territory in rep.territories.all()),
        )
    return states


def rep_working_hours(rep: Rep) -> WorkingHours:
    # The SLA clock needs a calendar: a rep without one works the usual week.
    return WorkingHours.parse(rep.working_hours) if rep.working_hours else WorkingHours.weekdays("09:00", "17:00")


def rep_holidays(rep: Rep) -> frozenset:
    """The dates the rep's holiday calendar takes out of their working time."""
    if not rep.holiday_calendar_id:
        return frozenset()
    return frozenset(holiday.date for holiday in rep.holiday_calendar.holidays.all())


def reps_for_routing(rep_ids, *, lock: bool):
    reps = Rep.objects.filter(id__in=rep_ids).select_related("user", "holiday_calendar", "team")
    reps = reps.prefetch_related("territories", "out_of_office", "holiday_calendar__holidays").order_by("id")
    if lock:
        # Capacity is checked and used under these row locks: two workers can
        # never both give a rep their last free slot. Id order: no deadlocks.
        reps = reps.select_for_update(of=("self",))
    return list(reps)


def engine_queues(queue_rows: list[Queue]) -> dict[int, EngineQueue]:
    members_by_queue: dict[int, list[QueueMember]] = {queue.id: [] for queue in queue_rows}
    members = QueueMemberRow.objects.filter(queue__in=queue_rows, is_active=True).select_related("rep")
    for member in members:
        members_by_queue[member.queue_id].append(
            QueueMember(
                rep_id=member.rep_id,
                assigned_count=member.assigned_count,
                weight=member.weight or member.rep.weight,
                joined_at=member.joined_at,
                last_assigned_at=member.last_assigned_at,
            )
        )
    return {
        queue.id: EngineQueue(
            id=queue.id,
            name=queue.name,
            strategy=STRATEGY_FOR_ENGINE[queue.strategy],
            members=tuple(members_by_queue[queue.id]),
        )
        for queue in queue_rows
    }


def queue_member_rep_ids(queue_ids) -> set[int]:
    return set(QueueMemberRow.objects.filter(queue_id__in=queue_ids, is_active=True).values_list("rep_id", flat=True))


def leads_without_active_assignment() -> QuerySet[Lead]:
    """Unmerged leads with no waiting, open or accepted assignment: what re-routing and the sweep route."""
    active = Assignment.objects.filter(lead_id=OuterRef("pk"), status__in=ACTIVE_ASSIGNMENT_STATUSES)
    return Lead.objects.filter(merged_into__isnull=True).exclude(Exists(active))


def active_assignment_for_lead(lead_id: int) -> Assignment | None:
    return Assignment.objects.filter(lead_id=lead_id, status__in=ACTIVE_ASSIGNMENT_STATUSES).first()


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


# --- The rep's queue ---------------------------------------------------------------------
#
# One order, explained on the page (templates/routing/queue.html) and identical in
# /api/routing/queue/: breached first, then at risk, then the rest by first-touch due
# time; inside each tier PQL before MQL, hot before normal, higher score first; the
# assignment id last, so two refreshes never swap rows. The SLA state is computed
# here from the clock, not only from the sweep's flags, so a row is breached the
# minute it is due even if the sweep has not run yet.

QUEUE_STATUSES = (AssignmentStatus.OPEN, AssignmentStatus.ACCEPTED)
# A queue is bounded by the rep's capacity; this only keeps a misconfigured one from flooding a page.
QUEUE_LIMIT = 200


class SlaState(TextChoices):
    BREACHED = "breached", "Breached"
    AT_RISK = "at_risk", "At risk"
    ON_TRACK = "on_track", "On track"


@dataclass(frozen=True)
class QueueFilters:
    stage: str | None = None
    source_id: int | None = None
    sla_state: str | None = None


@dataclass(frozen=True)
class QueueCounts:
    open: int
    at_risk: int
    breached: int


def _queue_for_rep(rep_user, now: datetime) -> QuerySet[Assignment]:
    # The first touch stops the SLA clock: a touched assignment is never at risk again.
    untouched = Q(first_touch_at__isnull=True, due_at__isnull=False)
    breached = untouched & (Q(breached_at__isnull=False) | Q(due_at__lte=now))
    at_risk = untouched & (Q(at_risk_at__isnull=False) | Q(warn_at__lte=now))
    return Assignment.objects.filter(rep__user=rep_user, status__in=QUEUE_STATUSES).annotate(
        sla_state=Case(
            When(breached, then=Value(SlaState.BREACHED.value)),
            When(at_risk, then=Value(SlaState.AT_RISK.value)),
            default=Value(SlaState.ON_TRACK.value),
        )
    )


def assignment_queue_for_rep(rep_user, filters: QueueFilters | None = None, *, now: datetime | None = None):
    """The rep's open and accepted assignments in the queue's order, with what each row shows,
    in one query: the lead, its account, source and score, and the last touch."""
    filters = filters or QueueFilters()
    now = now or timezone.now()
    rows = _queue_for_rep(rep_user, now)
    if filters.stage:
        rows = rows.filter(lead__stage=filters.stage)
    if filters.source_id is not None:
        rows = rows.filter(lead__source_id=filters.source_id)
    if filters.sla_state:
        rows = rows.filter(sla_state=filters.sla_state)
    last_touch = Activity.objects.filter(lead_id=OuterRef("lead_id"), kind__in=TOUCH_KINDS).order_by("-at")
    rows = rows.annotate(
        sla_tier=Case(
            When(sla_state=SlaState.BREACHED, then=Value(0)),
            When(sla_state=SlaState.AT_RISK, then=Value(1)),
            default=Value(2),
        ),
        # Only the untouched on-track rows race a clock; the breached and at-risk tiers rank by quality alone.
        due_sort=Case(
            When(sla_state=SlaState.ON_TRACK, first_touch_at__isnull=True, then=F("due_at")),
            default=Value(None, output_field=DateTimeField()),
        ),
        is_pql=Case(
            When(Q(lead__stage=Stage.PQL) | Q(lead__score__pql_path__gt=""), then=Value(True)),
            default=Value(False),
        ),
        # Crossing the hot threshold raises an assignment to high priority (leads_mark_hot).
        is_hot=Case(
            When(Q(priority=Priority.HIGH) | Q(lead__score__is_hot=True), then=Value(True)),
            default=Value(False),
        ),
        score_sort=Coalesce(F("lead__score__total"), Value(0.0)),
        last_touch_at=Subquery(last_touch.values("at")[:1]),
    )
    return rows.select_related("lead", "lead__account", "lead__source", "lead__score").order_by(
        "sla_tier",
        F("due_sort").asc(nulls_last=True),
        F("is_pql").desc(),
        F("is_hot").desc(),
        F("score_sort").desc(),
        "id",
    )[:QUEUE_LIMIT]


def assignment_queue_counts(rep_user, *, now: datetime | None = None) -> QueueCounts:
    """Open, at-risk and breached counts of the whole queue (filters narrow the rows, not these)."""
    rows = _queue_for_rep(rep_user, now or timezone.now())
    counts = rows.aggregate(
        open=Count("id"),
        at_risk=Count("id", filter=Q(sla_state=SlaState.AT_RISK)),
        breached=Count("id", filter=Q(sla_state=SlaState.BREACHED)),
    )
    return QueueCounts(**counts)


def queue_owner_for(user, rep_id: int | None):
    """Whose queue `user` may open: their own (a rep, with or without a routing profile yet), or
    the user of rep `rep_id` if that is them, a rep they manage, or any rep for an admin."""
    if rep_id is None:
        return user if user_has_role(user, Role.REP) else None
    reps = Rep.objects.select_related("user")
    if not user_has_role(user, Role.ADMIN):
        visible = Q(pk__in=[])
        if user_has_role(user, Role.MANAGER):
            visible |= Q(id__in=reps_managed_by(user).values("id"))
        if user_has_role(user, Role.REP):
            visible |= Q(user=user)
        reps = reps.filter(visible)
    rep = reps.filter(id=rep_id).first()
    return rep.user if rep is not None else None
