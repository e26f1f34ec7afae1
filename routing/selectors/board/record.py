"""Each rep's load now and first-touch record over a period, in a fixed number of queries.

Touch times are counted in business minutes, each rep's calendar read in Python from the
period's rows, fetched once (sla.py's clocks).
"""

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db.models import Count, F, FloatField, Func, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from routing.models import Assignment, AssignmentStatus, OutOfOffice, Rep
from routing.selectors.board.scope import Period
from routing.selectors.board.sla import business_clock, business_minutes, reps_with_calendars
from routing.selectors.queue import QUEUE_STATUSES


def met_sla() -> Q:
    """Touched at or before the due time."""
    return Q(due_at__isnull=False, breached_at__isnull=True, first_touch_at__isnull=False) & Q(
        first_touch_at__lte=F("due_at")
    )


def missed_sla(now: datetime) -> Q:
    """Breached (the sweep said so), touched late, or still held untouched past the due time
    (until it closed: a lead rejected before its due time missed nothing)."""
    untouched_past_due = Q(first_touch_at__isnull=True, due_at__lte=Coalesce(F("closed_at"), Value(now)))
    return Q(due_at__isnull=False) & (
        Q(breached_at__isnull=False) | Q(first_touch_at__gt=F("due_at")) | untouched_past_due
    )


def in_period(period: Period) -> Q:
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
        Assignment.objects.filter(in_period(period), rep_id__in=list(reps), first_touch_at__isnull=False)
        .annotate(assigned_epoch=_epoch("assigned_at"), touched_epoch=_epoch("first_touch_at"))
        .values_list("rep_id", "assigned_epoch", "touched_epoch")
    )
    calendars = {rep_id: business_clock(rep) for rep_id, rep in reps.items()}
    minutes: dict[int, list[int]] = defaultdict(list)
    instant = datetime.fromtimestamp
    for rep_id, assigned_epoch, touched_epoch in rows:
        value = business_minutes(instant(assigned_epoch, UTC), instant(touched_epoch, UTC), calendars[rep_id])
        if value is not None:
            minutes[rep_id].append(max(value, 0))
    return minutes


def board_rep_stats(reps: QuerySet[Rep], *, period: Period, now: datetime) -> list[RepStats]:
    """Each active rep's load now and record over the period, by name. A fixed number of queries:
    the reps (with calendars and coming absences), two aggregates, one fetch of touch times."""
    absences = OutOfOffice.objects.filter(ends_at__gt=now).order_by("starts_at", "id")
    rep_rows = list(
        reps_with_calendars(reps.filter(is_active=True))
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
        Assignment.objects.filter(in_period(period), rep_id__in=list(by_id))
        .values("rep_id")
        .annotate(
            assigned=Count("id"),
            met=Count("id", filter=met_sla()),
            breaches=Count("id", filter=missed_sla(now)),
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
