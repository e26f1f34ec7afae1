"""Durations on the board, in words a manager reads at a glance."""

from functools import lru_cache

from django import template
from django.urls import get_script_prefix, reverse

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


_SENTINEL = "987654321"


@lru_cache(maxsize=64)
def _url_template(name: str, script_prefix: str) -> str:
    return reverse(name, args=[int(_SENTINEL)])


@register.filter
def id_url(pk, name: str) -> str:
    """`{% url name pk %}` for rows: reverse() once per page's script prefix, then the id put in
    (the board has a few hundred row links; reversing each costs more than the rest of the row)."""
    return _url_template(name, get_script_prefix()).replace(_SENTINEL, str(int(pk)))


@lru_cache(maxsize=64)
def _plain_url(name: str, script_prefix: str) -> str:
    return reverse(name)


@register.filter
def cached_url(name: str) -> str:
    """`{% url name %}` reversed once per script prefix (it is repeated on every rep's row)."""
    return _plain_url(name, get_script_prefix())
