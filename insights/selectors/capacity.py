"""How many leads or accounts the team can work in a period, from the reps' capacities.

A minimal stand-in for the calibration work's selector of the same name (issue 11): each
active rep works up to their capacity (open assignments) a week.
"""

import math

from django.db.models import Sum

from routing.models import Rep

WEEK_DAYS = 7


def team_capacity(*, period_days: int, unit: str = "lead") -> int:
    weekly = Rep.objects.filter(is_active=True, user__is_active=True).aggregate(total=Sum("capacity"))["total"] or 0
    return math.ceil(weekly * period_days / WEEK_DAYS)
