"""Rates read as a person reads them: the count beside the rate, the interval after, few marked as few."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

# Under this many, a rate is shown as what it is: a handful.
SMALL_TOTAL = 30


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


@register.simple_tag
def rate(value: dict | None):
    """'7 of 106 · 6.6% (3.2–13.0%)', with 'few' beside a rate of fewer than SMALL_TOTAL."""
    if not value or not value.get("total"):
        return format_html('<span class="rate none">0 of 0 · no rate</span>')
    few = value["total"] < SMALL_TOTAL
    return format_html(
        '<span class="rate{}">{} of {} · <strong>{}</strong>{} <span class="interval">({}–{})</span></span>',
        " few" if few else "",
        value["count"],
        value["total"],
        _percent(value["rate"]),
        mark_safe(' <span class="few-mark">few</span>') if few else "",  # noqa: S308 - a constant
        _percent(value["low"]),
        _percent(value["high"]),
    )


@register.filter
def lift(value: float | None) -> str:
    return "–" if value is None else f"×{value:.2f}"


@register.filter
def percent(value: float | None) -> str:
    return _percent(value)


@register.filter
def judged(rows: list[dict]) -> list[dict]:
    """The traits with enough accounts to tell whether they predict."""
    return [row for row in rows if row.get("verdict") != "too_few"]


@register.filter
def too_few(rows: list[dict]) -> list[dict]:
    """The traits too rare to tell: listed apart, never left out."""
    return [row for row in rows if row.get("verdict") == "too_few"]
