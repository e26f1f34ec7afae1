"""The board's bounded lists of leads to look at: the fallback queue, and the qualified leads
whose score has since fallen below the threshold.
"""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from qualify_site.roles import Role, user_has_role
from routing.models import ACTIVE_ASSIGNMENT_STATUSES, Assignment, Rep
from routing.selectors.queue import QUEUE_STATUSES
from routing.selectors.visibility import assignments_visible_to
from scoring.models import LeadScore

# Caps that keep the page fast in a big world; the counts beside each list are exact.
FALLBACK_LIMIT = 20
BELOW_THRESHOLD_LIMIT = 20


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
