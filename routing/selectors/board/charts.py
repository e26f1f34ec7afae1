"""The numbers behind the board's charts (and the tables beside them)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from routing.models import Assignment, Rep
from routing.selectors.board.record import RepStats, in_period, met_sla, missed_sla
from routing.selectors.board.scope import Period
from routing.selectors.queue import QUEUE_STATUSES

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
        Assignment.objects.filter(in_period(period), rep__in=reps)
        .annotate(day=TruncDate("assigned_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(met=Count("id", filter=met_sla()), missed=Count("id", filter=missed_sla(now)))
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
