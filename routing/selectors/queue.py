"""The rep's queue: one order, the same on the page and in the API."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextChoices,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from leads.models import Stage
from qualify_site.roles import Role, user_has_role
from routing.engine.sla import NoWorkingTimeError, WorkingHours, business_minutes_between
from routing.models import (
    TOUCH_KINDS,
    Activity,
    Assignment,
    AssignmentStatus,
    Priority,
    Rep,
)
from routing.permissions import reps_managed_by
from routing.selectors.policy import rep_holidays, rep_working_hours

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


def sla_state_conditions(now: datetime) -> tuple[Q, Q]:
    """(breached, at risk) as conditions on an open or accepted assignment at `now`: the one
    definition of the SLA state, shared by the queue and the manager's board."""
    # The first touch stops the SLA clock: a touched assignment is never at risk again.
    untouched = Q(first_touch_at__isnull=True, due_at__isnull=False)
    breached = untouched & (Q(breached_at__isnull=False) | Q(due_at__lte=now))
    at_risk = untouched & (Q(at_risk_at__isnull=False) | Q(warn_at__lte=now))
    return breached, at_risk


def sla_state_annotation(now: datetime) -> Case:
    """The SLA state (SlaState's values) of an open or accepted assignment at `now`."""
    breached, at_risk = sla_state_conditions(now)
    return Case(
        When(breached, then=Value(SlaState.BREACHED.value)),
        When(at_risk, then=Value(SlaState.AT_RISK.value)),
        default=Value(SlaState.ON_TRACK.value),
    )


def _queue_for_rep(rep_user, now: datetime) -> QuerySet[Assignment]:
    return _queues(now).filter(rep__user=rep_user)


def _queues(now: datetime) -> QuerySet[Assignment]:
    return Assignment.objects.filter(status__in=QUEUE_STATUSES).annotate(sla_state=sla_state_annotation(now))


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


def assignment_queue_counts_by_rep(reps, *, now: datetime | None = None) -> dict[int, QueueCounts]:
    """The counts of several reps' queues in one query, by rep id (a rep with none: all zero)."""
    rows = (
        _queues(now or timezone.now())
        .filter(rep__in=reps)
        .values("rep_id")
        .annotate(
            open=Count("id"),
            at_risk=Count("id", filter=Q(sla_state=SlaState.AT_RISK)),
            breached=Count("id", filter=Q(sla_state=SlaState.BREACHED)),
        )
    )
    counts = {row.pop("rep_id"): QueueCounts(**row) for row in rows}
    return {rep.id: counts.get(rep.id, QueueCounts(open=0, at_risk=0, breached=0)) for rep in reps}


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


# --- The SLA clock in business time ------------------------------------------------------
#
# The chip counts what the SLA counts: the rep's working minutes (routing.engine.sla), not
# wall-clock time. On Friday 17:50 a lead due Monday 09:10 for a 09:00-18:00 rep has 20
# minutes left, not two days. The queue computes every row from one calendar fetched once
# (no query per row); any other page with one assignment gets it through the template tag.


@dataclass(frozen=True)
class RepCalendar:
    hours: WorkingHours
    time_zone: str
    holidays: frozenset


@dataclass(frozen=True)
class SlaClock:
    """`state` is touched, none (no SLA), breached, at_risk or on_track; `minutes` are the
    business minutes left (negative: over) for an untouched assignment with a due time."""

    state: str
    minutes: int | None = None

    @property
    def is_running(self) -> bool:
        return self.state in (SlaState.BREACHED, SlaState.AT_RISK, SlaState.ON_TRACK)

    @property
    def label(self) -> str:
        """ "20 min left", "1 h 5 min left", "2 h over"; empty when the clock does not run."""
        if not self.is_running or self.minutes is None:
            return ""
        if self.state == SlaState.BREACHED:
            return f"{_business_span(-self.minutes)} over" if self.minutes < 0 else "due now"
        return f"{_business_span(self.minutes)} left" if self.minutes > 0 else "due now"


def _business_span(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def rep_calendar(rep: Rep | None) -> RepCalendar | None:
    if rep is None:
        return None
    return RepCalendar(hours=rep_working_hours(rep), time_zone=rep.time_zone, holidays=rep_holidays(rep))


def rep_calendar_for_user(user) -> RepCalendar | None:
    """The working calendar of `user`'s rep profile: two queries at most, whatever the queue's size."""
    rep = (
        Rep.objects.select_related("holiday_calendar")
        .prefetch_related("holiday_calendar__holidays")
        .filter(user=user)
        .first()
    )
    return rep_calendar(rep)


def _sla_state(assignment: Assignment, now: datetime) -> str:
    if assignment.first_touch_at is not None:
        return "touched"
    if assignment.due_at is None:
        return "none"
    state = getattr(assignment, "sla_state", None)  # the queue's own reading, when it has one
    if state:
        return state
    if assignment.breached_at is not None or assignment.due_at <= now:
        return SlaState.BREACHED
    if assignment.at_risk_at is not None or (assignment.warn_at is not None and assignment.warn_at <= now):
        return SlaState.AT_RISK
    return SlaState.ON_TRACK


def assignment_sla_clock(assignment: Assignment, calendar: RepCalendar | None, *, now: datetime | None = None):
    now = now or timezone.now()
    state = _sla_state(assignment, now)
    if state in ("touched", "none"):
        return SlaClock(state=state)
    try:
        if calendar is None:
            raise NoWorkingTimeError("no calendar")
        minutes = business_minutes_between(
            now, assignment.due_at, calendar.hours, calendar.time_zone, calendar.holidays
        )
    except (NoWorkingTimeError, ValueError):
        # No working calendar to count in: wall-clock minutes are the honest fallback.
        minutes = int((assignment.due_at - now).total_seconds() // 60)
    return SlaClock(state=state, minutes=minutes)


def assignment_queue_with_clocks(rows, rep_user, *, now: datetime | None = None) -> list[Assignment]:
    """The queue's rows, each with `.sla_clock` counted in the rep's business time."""
    now = now or timezone.now()
    rows = list(rows)
    calendar = rep_calendar_for_user(rep_user) if rows else None
    for row in rows:
        row.sla_clock = assignment_sla_clock(row, calendar, now=now)
    return rows
