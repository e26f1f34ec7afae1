"""Template helpers for any page that shows an assignment (the queue, the lead workspace, the board).

    {% load routing_tags %}{% assignment_sla_clock assignment as clock %}

The queue annotates its rows with `.sla_clock` (one calendar for all rows); elsewhere the
clock is counted here from the assignment's rep, a query or two for the one assignment.
"""

from django import template

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
