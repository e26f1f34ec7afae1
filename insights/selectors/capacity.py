"""How many leads (or accounts) the team can work in a period: the default of "precision at capacity".

Reading of routing's `Rep.capacity`: "Maximum open assignments", a stock, not a flow: a rep holds
at most that many leads at once, and a lead keeps its slot from assignment until the assignment
closes (worked to an end, rejected or handed on). So by Little's law the team works, per day,

    slots / days an assignment stays open

where slots is the sum of the active reps' capacities. The days an assignment stays open are
measured from routing's history (the mean, assigned to closed or to now when still open, over the
assignments of the last MEASURE_DAYS) when at least MIN_MEASURED of them, and at least half, have
closed; else DEFAULT_TURNOVER_DAYS: about three weeks, the length of a usual outbound cadence of a
dozen touches (a history of mostly open assignments would measure only the quick ones). For accounts, the leads
a team can work are divided by how many leads an account brought into the queues over the same
window (one when nothing was assigned yet): an account's people are worked together.

A number given on the page or in the API overrides all of this.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Sum
from django.utils import timezone

from routing.models import Assignment, Rep

MEASURE_DAYS = 90
MIN_MEASURED = 20
DEFAULT_TURNOVER_DAYS = 21.0
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class TeamCapacity:
    capacity: int  # leads (or accounts) the team can work in the period
    unit: str
    period_days: int
    reps: int
    slots: int  # open assignments the active reps may hold at once
    turnover_days: float  # how long an assignment stays open
    measured_assignments: int  # assignments the turnover was measured on (0: the default)
    leads_per_account: float

    @property
    def is_measured(self) -> bool:
        return self.measured_assignments > 0

    def words(self) -> str:
        how = (
            f"assignments stay open {self.turnover_days:.1f} days on average "
            f"(over the {self.measured_assignments} assigned in the last {MEASURE_DAYS} days)"
            if self.is_measured
            else f"too little closed history to measure, so assignments are taken to stay open "
            f"{self.turnover_days:.0f} days"
        )
        per_account = f", {self.leads_per_account:.1f} leads per account" if self.unit == "account" else ""
        return (
            f"{self.reps} active reps hold {self.slots} open assignments at once; {how}{per_account}: "
            f"about {self.capacity} {self.unit}s in {self.period_days} days"
        )

    def to_dict(self) -> dict:
        return {
            "capacity": self.capacity,
            "unit": self.unit,
            "period_days": self.period_days,
            "reps": self.reps,
            "slots": self.slots,
            "turnover_days": self.turnover_days,
            "measured_assignments": self.measured_assignments,
            "leads_per_account": self.leads_per_account,
            "words": self.words(),
        }


def team_capacity(*, period_days: int, unit: str = "lead", now: datetime | None = None) -> int:
    """The leads (or accounts) the active reps can work in `period_days` (see the module's reading)."""
    return team_capacity_explained(period_days=period_days, unit=unit, now=now).capacity


def team_capacity_explained(*, period_days: int, unit: str = "lead", now: datetime | None = None) -> TeamCapacity:
    """`team_capacity` with how it was reached: reps, slots, turnover, leads per account, in words."""
    now = now or timezone.now()
    # A rep whose user can no longer sign in works nothing.
    reps = Rep.objects.filter(is_active=True, user__is_active=True).aggregate(count=Count("id"), slots=Sum("capacity"))
    since = now - timedelta(days=MEASURE_DAYS)
    spans = list(
        Assignment.objects.filter(rep__isnull=False, assigned_at__gte=since, assigned_at__lte=now).values_list(
            "assigned_at", "closed_at"
        )
    )
    # Still-open assignments count up to now: leaving them out would keep only the quick ones.
    durations = [((closed or now) - assigned).total_seconds() / SECONDS_PER_DAY for assigned, closed in spans]
    closed = sum(1 for _, closed_at in spans if closed_at is not None)
    is_measured = closed >= MIN_MEASURED and closed * 2 >= len(durations)
    turnover = sum(durations) / len(durations) if is_measured else DEFAULT_TURNOVER_DAYS
    # A lead reopened in a day must not make the team look infinitely fast.
    turnover = max(turnover, 1.0)
    leads_per_account = 1.0
    if unit == "account":
        assigned = Assignment.objects.filter(assigned_at__gte=since, lead__account__isnull=False)
        leads, accounts = (
            assigned.values("lead_id").distinct().count(),
            assigned.values("lead__account_id").distinct().count(),
        )
        leads_per_account = leads / accounts if accounts else 1.0
    slots = reps["slots"] or 0
    capacity = round(slots * period_days / turnover / leads_per_account)
    return TeamCapacity(
        capacity=capacity,
        unit=unit,
        period_days=period_days,
        reps=reps["count"] or 0,
        slots=slots,
        turnover_days=turnover,
        measured_assignments=len(durations) if is_measured else 0,
        leads_per_account=leads_per_account,
    )
