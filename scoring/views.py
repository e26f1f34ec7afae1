"""Pages outside the admin: the stage definitions everyone works from."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from qualify_site.roles import user_roles
from scoring.selectors import rule_version_definitions, rule_version_live


@require_GET
@login_required
def stage_definitions(request):
    """What makes an MQL, each PQL path, hot and the grades, in words generated
    from the live rule version, so the definitions can never drift from the rules."""
    if not (request.user.is_staff or user_roles(request.user)):
        raise PermissionDenied
    live = rule_version_live()
    definitions = rule_version_definitions(live) if live else None
    sections = definitions["sections"] if definitions else []
    return render(
        request,
        "scoring/definitions.html",
        {"version": live, "definitions": definitions, "sections": sections},
    )
