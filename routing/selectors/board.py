"""The manager's board: the breaches to fix now, each rep's load and first-touch record
for a period, the numbers behind its charts, the fallback queue and the leads that fell
below the threshold since they qualified.

Bounded by design, whatever the size of the world: every list is capped, every count is
one aggregate, and the whole board is a fixed number of queries however many reps and
assignments there are (tests/routing/test_board.py holds it to that). Business time is
what the SLA counts: the rep's working hours, time zone and holidays (routing.engine.sla),
computed in Python from the rows of the period, fetched once.
"""

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Case, Count, F, FloatField, Func, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from qualify_site.roles import Role, user_has_role
from routing.engine.sla import BusinessClock, NoWorkingTimeError
from routing.models import ACTIVE_ASSIGNMENT_STATUSES, Assignment, AssignmentStatus, OutOfOffice, Rep
from routing.permissions import reps_managed_by
from routing.selectors.policy import rep_holidays, rep_working_hours
from routing.selectors.queue import QUEUE_STATUSES, SlaState, sla_state_annotation, sla_state_conditions
from routing.selectors.visibility import assignments_visible_to
from scoring.models import LeadScore

# Caps that keep the page fast in a big world; the counts beside each list are exact.
SLA_ROWS_LIMIT = 50
FALLBACK_LIMIT = 20
BELOW_THRESHOLD_LIMIT = 20

# Time to first touch, in business minutes: (label, upper bound exclusive; None = no bound).
FIRST_TOUCH_BUCKETS = (
    ("0–5 min", 5),
    ("5–15 min", 15),
    ("15 min–1 h", 60),
    ("1–4 h", 240),
    ("4–24 h", 1440),
    ("over 24 h", None),
)
# Open queue by age since assignment, wall-clock: (label, lower bound, upper bound exclusive).
QUEUE_AGE_BUCKETS = (
    ("under 1 h", timedelta(0), timedelta(hours=1)),
    ("1–4 h", timedelta(hours=1), timedelta(hours=4)),
    ("4–24 h", timedelta(hours=4), timedelta(hours=24)),
    ("1–3 days", timedelta(days=1), timedelta(days=3)),
    ("over 3 days", timedelta(days=3), None),
)


# --- Who sees what -----------------------------------------------------------------------


def board_reps(user) -> QuerySet[Rep] | None:
    """The reps whose work `user` watches on the board: an admin everyone, a manager their
    team (reps_managed_by); None for anyone else (reps, marketing ops), who may not open it."""
    if user_has_role(user, Role.ADMIN):
        return Rep.objects.all()
    if user_has_role(user, Role.MANAGER):
        return reps_managed_by(user)
    return None


def board_assignment_get(*, user, assignment_id: int) -> Assignment | None:
    """An assignment the user may act on from the board (their team's, or one waiting in a queue
    they watch); None for one they may not see, so the view answers 404, never 403."""
    return assignments_visible_to(user).filter(id=assignment_id).first()


def board_rep_get(*, user, rep_id: int) -> Rep | None:
    reps = board_reps(user)
    return None if reps is None else reps.filter(id=rep_id).first()


# --- The period --------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    start: datetime
    end: datetime


PERIOD_CHOICES = (("this_week", "This week"), ("last_week", "Last week"), ("last_30_days", "Last 30 days"))
DEFAULT_PERIOD = "this_week"


def board_period(key: str | None, *, now: datetime) -> Period | None:
    """The period named `key` (this week when None) as of `now`; None for an unknown key.
    Weeks start on Monday at midnight in the site's time zone."""
    key = key or DEFAULT_PERIOD
    labels = dict(PERIOD_CHOICES)
    if key not in labels:
        return None
    local = timezone.localtime(now)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    if key == "this_week":
        start, end = monday, now
    elif key == "last_week":
        start, end = monday - timedelta(days=7), monday
    else:
        start, end = now - timedelta(days=30), now
    return Period(key=key, label=labels[key], start=start, end=end)


# --- Business time -----------------------------------------------------------------------


def _calendar(rep: Rep) -> BusinessClock | None:
    """The rep's SLA clock (routing.engine.sla: business_minutes_between, read span after span);
    None for a rep whose calendar has no working time at all: no business clock to read."""
    try:
        return BusinessClock(rep_working_hours(rep), rep.time_zone, rep_holidays(rep))
    except (NoWorkingTimeError, ValueError):
        return None


def _business_minutes(start: datetime, end: datetime, clock: BusinessClock | None) -> int | None:
    return None if clock is None else clock.minutes_between(start, end)


def _reps_with_calendars(reps: QuerySet[Rep]) -> QuerySet[Rep]:
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
            clocks[assignment.rep_id] = _calendar(assignment.rep)
        calendar = clocks[assignment.rep_id]
        is_breached = assignment.sla_state == SlaState.BREACHED
        rows.append(
            SlaRow(
                assignment=assignment,
                state=assignment.sla_state,
                age_minutes=_business_minutes(assignment.assigned_at or assignment.created_at, now, calendar),
                late_minutes=_business_minutes(
                    *((assignment.due_at, now) if is_breached else (now, assignment.due_at)), calendar
                ),
            )
        )
    return SlaBoard(rows=rows, **counts)


# --- Per rep, for a period ---------------------------------------------------------------


def _met_sla() -> Q:
    """Touched at or before the due time."""
    return Q(due_at__isnull=False, breached_at__isnull=True, first_touch_at__isnull=False) & Q(
        first_touch_at__lte=F("due_at")
    )


def _missed_sla(now: datetime) -> Q:
    """Breached (the sweep said so), touched late, or still held untouched past the due time
    (until it closed: a lead rejected before its due time missed nothing)."""
    untouched_past_due = Q(first_touch_at__isnull=True, due_at__lte=Coalesce(F("closed_at"), Value(now)))
    return Q(due_at__isnull=False) & (
        Q(breached_at__isnull=False) | Q(first_touch_at__gt=F("due_at")) | untouched_past_due
    )


def _in_period(period: Period) -> Q:
    return Q(assigned_at__gte=period.start, assigned_at__lt=period.end)


def _nearest_rank(sorted_values: list[int], percent: int) -> int:
    """The nearest-rank percentile: the smallest value with at least `percent`% at or below it."""
    return sorted_values[max(0, math.ceil(percent / 100 * len(sorted_values)) - 1)]


@dataclass
class RepStats:
    rep: Rep
    open: int = 0
    assigned: int = 0
    touched: int = 0
    met: int = 0
    breaches: int = 0
    rejections: int = 0
    median_minutes: float | None = None
    p90_minutes: int | None = None
    absences: list[OutOfOffice] = field(default_factory=list)
    touch_minutes: list[int] = field(default_factory=list)
    now: datetime | None = None

    @property
    def capacity(self) -> int:
        return self.rep.capacity

    @property
    def decided(self) -> int:
        """Assignments whose SLA is settled: met or missed."""
        return self.met + self.breaches

    @property
    def within_sla_percent(self) -> int | None:
        return round(100 * self.met / self.decided) if self.decided else None

    @property
    def is_full(self) -> bool:
        return self.open >= self.rep.capacity

    @property
    def absent_now(self) -> OutOfOffice | None:
        return next((absence for absence in self.absences if absence.starts_at <= self.now), None)

    @property
    def next_absence(self) -> OutOfOffice | None:
        return next((absence for absence in self.absences if absence.starts_at > self.now), None)


class _EpochSeconds(Func):
    """A timestamp as seconds since 1970 (a double). PostgreSQL's statement, and its portable
    twin for the embedded SQLite default: whole seconds from strftime plus the stored fraction
    (Django writes 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC). Not julianday: a double of days lands
    a whole minute a few microseconds early, which the business clock then counts one minute short."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)::float8"
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        twin = f"(CAST(strftime('%%s', {sql}) AS REAL) + CAST(substr({sql}, 20) AS REAL))"
        return twin, (*params, *params)


def _epoch(field_name: str) -> Func:
    return _EpochSeconds(F(field_name))


def _first_touch_minutes(reps: dict[int, Rep], period: Period) -> dict[int, list[int]]:
    """Business minutes from assignment to first touch of each touched assignment of the period,
    by rep: the rows fetched once, the clock read with each rep's calendar."""
    # As epoch seconds: parsing tens of thousands of timestamps from text costs more than the
    # arithmetic. A double holds today's epoch to a quarter microsecond, so the rounding in
    # fromtimestamp gives back the stored instant exactly.
    rows = (
        Assignment.objects.filter(_in_period(period), rep_id__in=list(reps), first_touch_at__isnull=False)
        .annotate(assigned_epoch=_epoch("assigned_at"), touched_epoch=_epoch("first_touch_at"))
        .values_list("rep_id", "assigned_epoch", "touched_epoch")
    )
    calendars = {rep_id: _calendar(rep) for rep_id, rep in reps.items()}
    minutes: dict[int, list[int]] = defaultdict(list)
    instant = datetime.fromtimestamp
    for rep_id, assigned_epoch, touched_epoch in rows:
        value = _business_minutes(instant(assigned_epoch, UTC), instant(touched_epoch, UTC), calendars[rep_id])
        if value is not None:
            minutes[rep_id].append(max(value, 0))
    return minutes


def board_rep_stats(reps: QuerySet[Rep], *, period: Period, now: datetime) -> list[RepStats]:
    """Each active rep's load now and record over the period, by name. A fixed number of queries:
    the reps (with calendars and coming absences), two aggregates, one fetch of touch times."""
    absences = OutOfOffice.objects.filter(ends_at__gt=now).order_by("starts_at", "id")
    rep_rows = list(
        _reps_with_calendars(reps.filter(is_active=True))
        .prefetch_related(Prefetch("out_of_office", queryset=absences, to_attr="coming_absences"))
        .order_by("user__first_name", "user__last_name", "user__username", "id")
    )
    by_id = {rep.id: rep for rep in rep_rows}
    # Two aggregates, each on its index: the load now on (rep, status), the period on (rep, assigned_at).
    totals_by_rep: dict[int, dict] = defaultdict(dict)
    load = (
        Assignment.objects.filter(rep_id__in=list(by_id), status__in=QUEUE_STATUSES)
        .values("rep_id")
        .annotate(open=Count("id"))
    )
    record = (
        Assignment.objects.filter(_in_period(period), rep_id__in=list(by_id))
        .values("rep_id")
        .annotate(
            assigned=Count("id"),
            met=Count("id", filter=_met_sla()),
            breaches=Count("id", filter=_missed_sla(now)),
            rejections=Count("id", filter=Q(status=AssignmentStatus.REJECTED)),
        )
    )
    for row in [*load, *record]:
        totals_by_rep[row.pop("rep_id")].update(row)
    touch_minutes = _first_touch_minutes(by_id, period)
    stats = []
    for rep in rep_rows:
        minutes = sorted(touch_minutes.get(rep.id, ()))
        stats.append(
            RepStats(
                rep=rep,
                **totals_by_rep.get(rep.id, {}),
                touched=len(minutes),
                touch_minutes=minutes,
                median_minutes=statistics.median(minutes) if minutes else None,
                p90_minutes=_nearest_rank(minutes, 90) if minutes else None,
                absences=rep.coming_absences,
                now=now,
            )
        )
    return stats


# --- The charts' numbers -----------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One chart's numbers: labels and one or more named series of counts (also its table)."""

    title: str
    labels: list[str]
    datasets: dict[str, list[int]]

    def rows(self) -> list[tuple[str, list[int]]]:
        columns = list(self.datasets.values())
        return [(label, [values[index] for values in columns]) for index, label in enumerate(self.labels)]

    def as_json(self) -> dict:
        return {"title": self.title, "labels": self.labels, "datasets": self.datasets}


def _bucket(minutes: int) -> int:
    return next(index for index, (_, upper) in enumerate(FIRST_TOUCH_BUCKETS) if upper is None or minutes < upper)


def first_touch_distribution(stats: list[RepStats]) -> Series:
    counts = [0] * len(FIRST_TOUCH_BUCKETS)
    for row in stats:
        for value in row.touch_minutes:
            counts[_bucket(value)] += 1
    return Series(
        title="Time to first touch (business time)",
        labels=[label for label, _ in FIRST_TOUCH_BUCKETS],
        datasets={"Assignments": counts},
    )


def sla_met_per_day(reps: QuerySet[Rep], *, period: Period, now: datetime) -> Series:
    """Per day of assignment (site time zone), how many met and missed their first-touch SLA."""
    rows = (
        Assignment.objects.filter(_in_period(period), rep__in=reps)
        .annotate(day=TruncDate("assigned_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(met=Count("id", filter=_met_sla()), missed=Count("id", filter=_missed_sla(now)))
        .order_by("day")
    )
    by_day = {row["day"]: row for row in rows}
    days, day = [], timezone.localtime(period.start).date()
    last = timezone.localtime(period.end - timedelta(microseconds=1)).date()
    while day <= last:
        days.append(day)
        day += timedelta(days=1)
    return Series(
        title="First-touch SLA met per day",
        # A week reads by weekday; a month by date.
        labels=[day.strftime("%a %-d %b" if len(days) <= 8 else "%-d %b") for day in days],
        datasets={
            "Met": [by_day.get(day, {}).get("met", 0) for day in days],
            "Missed": [by_day.get(day, {}).get("missed", 0) for day in days],
        },
    )


def open_queue_by_age(reps: QuerySet[Rep], *, now: datetime) -> Series:
    """The team's open and accepted assignments by time since assignment (wall clock)."""
    buckets = {}
    for index, (_, lower, upper) in enumerate(QUEUE_AGE_BUCKETS):
        condition = Q(assigned_at__lte=now - lower)
        if upper is not None:
            condition &= Q(assigned_at__gt=now - upper)
        buckets[f"b{index}"] = Count("id", filter=condition)
    counts = Assignment.objects.filter(rep__in=reps, status__in=QUEUE_STATUSES).aggregate(**buckets)
    return Series(
        title="Open queue by age",
        labels=[label for label, _, _ in QUEUE_AGE_BUCKETS],
        datasets={"Open assignments": [counts[f"b{index}"] for index in range(len(QUEUE_AGE_BUCKETS))]},
    )


def routed_per_rep(stats: list[RepStats]) -> Series:
    return Series(
        title="Leads routed per rep",
        labels=[str(row.rep) for row in stats],
        datasets={"Assigned": [row.assigned for row in stats]},
    )


# --- Fallback queue and leads below threshold ---------------------------------------------


@dataclass(frozen=True)
class BoundedList:
    rows: list
    count: int

    @property
    def is_truncated(self) -> bool:
        return self.count > len(self.rows)


def board_fallback(*, user) -> BoundedList:
    """Leads in the fallback queue (no rule matched) that are still in play, oldest first."""
    assignments = assignments_visible_to(user).filter(queue__is_fallback=True, status__in=ACTIVE_ASSIGNMENT_STATUSES)
    rows = assignments.select_related("lead", "lead__account", "rep__user").order_by("created_at", "id")
    return BoundedList(rows=list(rows[:FALLBACK_LIMIT]), count=assignments.count())


def board_below_threshold(*, user, reps: QuerySet[Rep]) -> BoundedList:
    """Qualified leads whose score has since decayed below the threshold (they keep their
    stage; scoring flags them): the team's (held or owned by its reps), highest score first."""
    scores = LeadScore.objects.filter(is_below_threshold_since_qualification=True, lead__merged_into__isnull=True)
    if not user_has_role(user, Role.ADMIN):
        # Two small sets (the team's open work, bounded by capacity; its users), hashed once.
        held = Assignment.objects.filter(rep__in=reps, status__in=QUEUE_STATUSES).values("lead_id")
        scores = scores.filter(Q(lead_id__in=held) | Q(lead__owner_id__in=reps.values("user_id")))
    rows = scores.select_related("lead", "lead__account").order_by("-total", "lead_id")
    return BoundedList(rows=list(rows[:BELOW_THRESHOLD_LIMIT]), count=scores.count())


# --- The whole board ---------------------------------------------------------------------


@dataclass(frozen=True)
class Board:
    period: Period
    sla: SlaBoard
    reps: list[RepStats]
    charts: dict[str, Series]
    fallback: BoundedList
    below_threshold: BoundedList
    team_reps: list[Rep]


def board_get(*, user, period: Period, now: datetime | None = None) -> Board | None:
    """Everything the board shows, for a manager (their team) or an admin (everyone); None for
    anyone else."""
    now = now or timezone.now()
    reps = board_reps(user)
    if reps is None:
        return None
    stats = board_rep_stats(reps, period=period, now=now)
    charts = {
        "first_touch": first_touch_distribution(stats),
        "sla_per_day": sla_met_per_day(reps, period=period, now=now),
        "queue_age": open_queue_by_age(reps, now=now),
        "routed": routed_per_rep(stats),
    }
    return Board(
        period=period,
        sla=board_sla(reps, now=now),
        reps=stats,
        charts=charts,
        fallback=board_fallback(user=user),
        below_threshold=board_below_threshold(user=user, reps=reps),
        team_reps=[row.rep for row in stats],
    )
