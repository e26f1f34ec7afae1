"""The manager's board: the breaches to fix now, each rep's load and first-touch record
for a period, the numbers behind its charts, the fallback queue and the leads that fell
below the threshold since they qualified.

Bounded by design, whatever the size of the world: every list is capped, every count is
one aggregate, and the whole board is a fixed number of queries however many reps and
assignments there are (tests/routing/test_board.py holds it to that). Business time is
what the SLA counts: the rep's working hours, time zone and holidays (routing.engine.sla),
computed in Python from the rows of the period, fetched once.

`board_get` (here) assembles the page from the package's parts: scope.py (whose work a user
watches, the period), sla.py (each rep's business clock, the live SLA board), record.py
(each rep's load and record for the period), charts.py (the charts' numbers) and lists.py
(the fallback queue, the leads below threshold). Views import from here.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from routing.models import Rep
from routing.selectors.board.charts import (
    Series,
    first_touch_distribution,
    open_queue_by_age,
    routed_per_rep,
    sla_met_per_day,
)
from routing.selectors.board.lists import BoundedList, board_below_threshold, board_fallback
from routing.selectors.board.record import RepStats, board_rep_stats
from routing.selectors.board.scope import (
    PERIOD_CHOICES,
    Period,
    board_assignment_get,
    board_period,
    board_rep_get,
    board_reps,
)
from routing.selectors.board.sla import SlaBoard, SlaRow, board_sla, board_sla_counts

__all__ = [
    "PERIOD_CHOICES",
    "Board",
    "BoundedList",
    "Period",
    "RepStats",
    "Series",
    "SlaBoard",
    "SlaRow",
    "board_assignment_get",
    "board_below_threshold",
    "board_fallback",
    "board_get",
    "board_period",
    "board_rep_get",
    "board_rep_stats",
    "board_reps",
    "board_sla",
    "board_sla_counts",
]


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
