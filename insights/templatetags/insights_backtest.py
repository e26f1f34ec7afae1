"""{% load insights_backtest %}{% version_validation_flag %}: a notice when the live version has not
been validated by a backtest for 90 days (or ever); nothing otherwise."""

from django import template

from insights.selectors.backtest import version_validation_flag as flag_for_live_version

register = template.Library()


@register.inclusion_tag("admin/insights/validation_flag.html")
def version_validation_flag():
    return {"flag": flag_for_live_version()}
