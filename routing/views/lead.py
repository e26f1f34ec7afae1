"""The lead workspace: who the lead is, why they are here, and their open assignment.

It is the page notification links open, so every recipient who may see the lead
can open it: a rep their own leads, managers, marketing ops and admins any lead.
A lead the user may not see does not exist (404), whatever the URL.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from leads import selectors as lead_selectors
from routing.models import ACTIVE_ASSIGNMENT_STATUSES
from routing.selectors.visibility import assignment_list


@require_GET
@login_required
def lead_workspace(request, lead_id: int):
    # The same role-scoped selector as /api/leads/<id>/: a lead the user may not see does not exist.
    lead = lead_selectors.lead_get(user=request.user, lead_id=lead_id)
    if lead is None:
        raise Http404("No such lead.")
    try:
        score = lead.score
    except ObjectDoesNotExist:
        score = None
    assignment = (
        assignment_list(user=request.user)
        .filter(lead_id=lead.id, status__in=ACTIVE_ASSIGNMENT_STATUSES)
        .order_by("-id")
        .first()
    )
    return render(request, "routing/lead_workspace.html", {"lead": lead, "score": score, "assignment": assignment})
