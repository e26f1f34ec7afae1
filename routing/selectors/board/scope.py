"""What the board covers: whose work a user watches on it, and the period of its record."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from qualify_site.roles import Role, user_has_role
from routing.models import Assignment, Rep
from routing.permissions import reps_managed_by
from routing.selectors.visibility import assignments_visible_to

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
