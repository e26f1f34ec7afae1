"""Pages outside the admin: the stage definitions everyone works from."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from qualify_site.roles import user_roles
from scoring.engine import describe
from scoring.selectors import rule_version_document, rule_version_live

_SECTION_TITLES = {
    "fit_rules": "Fit: who the lead is",
    "engagement_rules": "Engagement: what the lead did",
    "negative_rules": "Negative signals",
}


@require_GET
@login_required
def stage_definitions(request):
    """What makes an MQL, each PQL path, hot and the grades, in words generated
    from the live rule version, so the definitions can never drift from the rules."""
    if not (request.user.is_staff or user_roles(request.user)):
        raise PermissionDenied
    live = rule_version_live()
    definitions = describe(rule_version_document(live)) if live else None
    sections = []
    if definitions:
        for section, title in _SECTION_TITLES.items():
            rules = [rule for rule in definitions["rules"] if rule["section"] == section]
            if rules:
                sections.append({"title": title, "rules": rules})
    return render(
        request,
        "scoring/definitions.html",
        {"version": live, "definitions": definitions, "sections": sections},
    )
