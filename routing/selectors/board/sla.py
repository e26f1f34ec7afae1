"""The SLA in business time: each rep's clock, and the live board of breaches and risks.

Business time is what the SLA counts: the rep's working hours, time zone and holidays
(routing.engine.sla). The period's record (record.py) reads the same clocks.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from routing.engine.sla import BusinessClock, NoWorkingTimeError
from routing.models import Assignment, Rep
from routing.selectors.policy import rep_holidays, rep_working_hours
from routing.selectors.queue import QUEUE_STATUSES, SlaState, sla_state_annotation, sla_state_conditions

# Caps the page's list to keep it fast in a big world; the counts beside it are exact.
SLA_ROWS_LIMIT = 50


# --- Business time -----------------------------------------------------------------------


def business_clock(rep: Rep) -> BusinessClock | None:
    """The rep's SLA clock (routing.engine.sla: business_minutes_between, read span after span);
    None for a rep whose calendar has no working time at all: no business clock to read."""
    try:
        return BusinessClock(rep_working_hours(rep), rep.time_zone, rep_holidays(rep))
    except (NoWorkingTimeError, ValueError):
        return None


def business_minutes(start: datetime, end: datetime, clock: BusinessClock | None) -> int | None:
    return None if clock is None else clock.minutes_between(start, end)


def reps_with_calendars(reps: QuerySet[Rep]) -> QuerySet[Rep]:
    return reps.select_related("user", "holiday_calendar").prefetch_related("holiday_calendar__holidays")


# --- The live SLA board ------------------------------------------------------------------


@dataclass(frozen=True)
class SlaRow:
    assignment: Assignment
    state: str
    # Business minutes (the rep's calendar) since assignment, and past due (breached) or
    # left until due (at risk). None when the rep's calendar has no working time.
    age_minutes: int | None
    late_minutes: int | None

    @property
    def is_breached(self) -> bool:
        return self.state == SlaState.BREACHED


@dataclass(frozen=True)
class SlaBoard:
    rows: list[SlaRow]
    breached: int
    at_risk: int

    @property
    def total(self) -> int:
        return self.breached + self.at_risk


def _sla_counts(assignments: QuerySet[Assignment]) -> dict[str, int]:
    return assignments.aggregate(
        breached=Count("id", filter=Q(sla_state=SlaState.BREACHED)),
        at_risk=Count("id", filter=Q(sla_state=SlaState.AT_RISK)),
    )


def board_sla_counts(reps: QuerySet[Rep], *, now: datetime) -> SlaBoard:
    """The counts of `board_sla` without its rows (one query): what the board's header shows."""
    breached, at_risk = sla_state_conditions(now)
    base = Assignment.objects.filter(rep__in=reps, status__in=QUEUE_STATUSES).filter(breached | at_risk)
    return SlaBoard(rows=[], **_sla_counts(base.annotate(sla_state=sla_state_annotation(now))))


def board_sla(reps: QuerySet[Rep], *, now: datetime, assignment_id: int | None = None) -> SlaBoard:
    """The team's breached and at-risk assignments (the queue's SLA states): breached first,
    most overdue first, then at risk, soonest due first. Two queries (plus the calendars).
    With `assignment_id`, that one only (a row to show again)."""
    breached, at_risk = sla_state_conditions(now)
    base = Assignment.objects.filter(rep__in=reps, status__in=QUEUE_STATUSES).filter(breached | at_risk)
    if assignment_id is not None:
        base = base.filter(id=assignment_id)
    base = base.annotate(sla_state=sla_state_annotation(now))
    counts = _sla_counts(base)
    assignments = (
        base.annotate(
            tier=Case(When(sla_state=SlaState.BREACHED, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
        .select_related("lead", "lead__account", "queue", "rep__user", "rep__holiday_calendar")
        .prefetch_related("rep__holiday_calendar__holidays")
        .order_by("tier", "due_at", "id")[:SLA_ROWS_LIMIT]
    )
    rows, clocks = [], {}
    for assignment in assignments:
        if assignment.rep_id not in clocks:
            clocks[assignment.rep_id] = business_clock(assignment.rep)
        calendar = clocks[assignment.rep_id]
        is_breached = assignment.sla_state == SlaState.BREACHED
        rows.append(
            SlaRow(
                assignment=assignment,
                state=assignment.sla_state,
                age_minutes=business_minutes(assignment.assigned_at or assignment.created_at, now, calendar),
                late_minutes=business_minutes(
                    *((assignment.due_at, now) if is_breached else (now, assignment.due_at)), calendar
                ),
            )
        )
    return SlaBoard(rows=rows, **counts)
