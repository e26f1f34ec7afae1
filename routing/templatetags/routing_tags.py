"""Template helpers for any page that shows an assignment (the queue, the lead workspace, the board).

    {% load routing_tags %}{% assignment_sla_clock assignment as clock %}

The queue annotates its rows with `.sla_clock` (one calendar for all rows); elsewhere the
clock is counted here from the assignment's rep, a query or two for the one assignment.
"""

from django import template
from django.utils import timezone

from routing.selectors.queue import SlaClock, assignment_sla_clock, rep_calendar
from routing.services.actions import REJECTION_REASONS

register = template.Library()


@register.simple_tag
def assignment_sla_clock_for(assignment) -> SlaClock | None:
    if assignment is None:
        return None
    clock = getattr(assignment, "sla_clock", None)
    if clock is not None:
        return clock
    return assignment_sla_clock(assignment, rep_calendar(assignment.rep))


@register.simple_tag
def rejection_reasons() -> tuple[str, ...]:
    """The reasons a rep picks from when rejecting a lead (one list, validated on the server)."""
    return REJECTION_REASONS


@register.filter
def ago(moment) -> str:
    """A compact "how long ago" for dense rows: just now, 5 min ago, 3 h ago, 2 d ago."""
    if not moment:
        return ""
    minutes = int((timezone.now() - moment).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // (24 * 60)} d ago"


@register.filter
def short_time(moment) -> str:
    """11:42 today, else 27 Nov: the full date stays in the element's title."""
    if not moment:
        return ""
    local = timezone.localtime(moment)
    if local.date() == timezone.localdate():
        return local.strftime("%H:%M")
    return f"{local.day} {local.strftime('%b')}"
