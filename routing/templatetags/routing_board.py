"""Durations on the board, in words a manager reads at a glance."""

from django import template

register = template.Library()


@register.filter
def business_time(minutes) -> str:
    """Business minutes as "45 min", "3 h 05 min" or "26 h" (hours of working time, not days:
    a working day is not 24 hours). Empty for None (no clock)."""
    if minutes is None:
        return "—"
    minutes = round(minutes)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


@register.filter
def get_options(options_by_rep: dict, rep_id) -> str:
    """The reassign options for a row held by `rep_id` (routing.views.board.reassign_options)."""
    return options_by_rep[rep_id]
