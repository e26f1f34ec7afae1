"""Reads for routing: the policy as the engine sees it, rep states, facts for a lead."""

from datetime import datetime

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    QuerySet,
    Window,
)
from django.db.models.functions import DenseRank
from django.utils import timezone

from leads.facts import condition_facts
from leads.models import Lead
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
    Assignment,
    AssignmentStatus,
    Queue,
    Rep,
    RoutingRule,
)
from routing.models import QueueMember as QueueMemberRow
from routing.models import Territory as TerritoryRow

# Assignments that count against a rep's capacity.
OPEN_STATUSES = (AssignmentStatus.OPEN, AssignmentStatus.ACCEPTED)


def territory_for_engine(row: TerritoryRow) -> Territory:
    band = ((row.employee_min, row.employee_max),) if row.employee_min or row.employee_max else ()
    return Territory.build(
        row.name, countries=row.countries, regions=row.regions, industries=row.industries, employee_bands=band
    )


def fallback_queue_id() -> int | None:
    """The fallback queue's id. A read, never a write: None only if someone deleted the queue
    (migration 0002 creates it; routing.services.queues.fallback_queue_ensure recreates it
    before routing)."""
    return Queue.objects.filter(is_fallback=True).values_list("id", flat=True).first()


def routing_policy(*, rules=None, fallback_id: int | None = None) -> RoutingPolicy:
    """The live rules (or `rules`, for previews of unsaved ones) as the engine's policy.

    `fallback_id`: the fallback queue's id when the caller has it (routing services ensure
    the queue first); read here otherwise. Without one, compiling fails: the engine says why."""
    fallback = fallback_id if fallback_id is not None else fallback_queue_id()
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


def routing_policy_compiled(*, fallback_id: int | None = None) -> CompiledPolicy:
    """Compiled once per rule-set content (the engine caches by hash)."""
    return compile_policy(routing_policy(fallback_id=fallback_id))


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


def routing_facts(
    lead: Lead, *, account_owner_id: int | None, account_rep_ids: tuple, as_of: datetime | None = None
) -> RoutingFacts:
    """The engine's facts for a lead (with account and score loaded) and its account's reps, already
    looked up. The lead, account and score fields are the catalogue's, from the one builder
    (leads/facts.py) scoring uses too, so `lead.email_domain` means the same in both."""
    account = lead.account
    facts = condition_facts(lead, as_of=as_of or timezone.now(), score=getattr(lead, "score", None))
    return RoutingFacts(
        lead=facts["lead"],
        account=facts["account"],
        score=facts["score"],
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
            strategy=queue.strategy,
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
