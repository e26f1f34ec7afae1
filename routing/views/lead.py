"""The lead workspace: who is this, why now, what happened, what do I do.

It is the page notification links open, so every recipient who may see the lead
can open it, by the API's rule: a rep their own leads; managers, marketing ops
(read only) and admins any lead. A lead the user may not open does not exist (404),
whatever the URL: another rep's lead, a merged id, any timeline page of either.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from routing.selectors.workspace import (
    account_people,
    assignment_for_workspace,
    lead_timeline_page,
    lead_workspace_get,
    user_manages_assignment,
    user_works_assignment,
)
from scoring.selectors_score_card import lead_activation_checklist, lead_score_card, lead_score_get

# Deep enough for any real lead; past it the per-kind reads would stop being small.
MAX_TIMELINE_PAGE = 400


def _timeline_page_number(request) -> int:
    raw = request.GET.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_TIMELINE_PAGE:
        raise Http404("No such timeline page.")
    return int(raw)


@require_GET
@login_required
def lead_workspace(request, lead_id: int):
    # Visibility first: nothing about the request (page number included) is read for a lead the user may not open.
    lead = lead_workspace_get(user=request.user, lead_id=lead_id)
    if lead is None:
        raise Http404("No such lead.")
    if request.htmx and request.htmx.target == "sla-clock":
        # The assignment card's clock, asked for again every minute: it counts on without a reload.
        assignment = assignment_for_workspace(lead=lead)
        return render(request, "routing/sla_chip.html", {"assignment": assignment}) if assignment else HttpResponse()
    page_number = _timeline_page_number(request)
    timeline = lead_timeline_page(lead=lead, page=page_number)
    if page_number > 1 and not timeline.entries:
        raise Http404("No such timeline page.")
    context = {"lead": lead, "timeline": timeline}
    if request.htmx and request.htmx.target == "timeline":
        return render(request, "routing/lead_timeline.html", context)
    score = lead_score_get(lead_id=lead.id)
    card = lead_score_card(score=score) if score is not None else None
    assignment = assignment_for_workspace(lead=lead)
    context |= {
        "score": score,
        "card": card,
        "checklist": lead_activation_checklist(lead=lead, card=card, now=timezone.now()),
        "people": account_people(user=request.user, lead=lead),
        "assignment": assignment,
        "may_work": user_works_assignment(request.user, assignment),
        "may_reassign": assignment is not None and user_manages_assignment(request.user, assignment),
    }
    return render(request, "routing/lead_workspace.html", context)
