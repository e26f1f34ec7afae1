"""The lead workspace: who the lead is, why they are here, and their open assignment.

Minimal for now (the full workspace, with the timeline and the actions, comes
with the queue); it is the page notification links open, so every recipient
who may see the lead can open it: a rep their own leads, managers, marketing
ops and admins any lead.
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from leads import selectors as lead_selectors
from leads.models import Source, Stage
from routing.models import ACTIVE_ASSIGNMENT_STATUSES
from routing.selectors import (
    QueueFilters,
    SlaState,
    assignment_list,
    assignment_queue_counts,
    assignment_queue_for_rep,
    queue_owner_for,
)


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


class QueueFilterForm(forms.Form):
    stage = forms.ChoiceField(required=False, choices=[("", "Any stage"), *Stage.choices])
    source = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    sla_state = forms.ChoiceField(required=False, label="SLA", choices=[("", "Any SLA state"), *SlaState.choices])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [("", "Any source"), *Source.objects.order_by("name").values_list("id", "name")]


@require_GET
@login_required
def assignment_queue(request):
    """The rep's queue (same rows and order as /api/routing/queue/); managers pass ?rep=<id>."""
    rep_id = request.GET.get("rep")
    if rep_id is not None and not rep_id.isdigit():
        return HttpResponseBadRequest("rep: a rep id is a whole number.")
    owner = queue_owner_for(request.user, int(rep_id) if rep_id else None)
    if owner is None:
        raise PermissionDenied("You may see only your own queue (managers: their reps').")
    form = QueueFilterForm(request.GET)
    if not form.is_valid():
        return render(
            request, "routing/queue.html", {"owner": owner, "form": form, "rows": [], "counts": None}, status=400
        )
    filters = QueueFilters(
        stage=form.cleaned_data["stage"] or None,
        source_id=form.cleaned_data["source"],
        sla_state=form.cleaned_data["sla_state"] or None,
    )
    context = {
        "owner": owner,
        "form": form,
        "counts": assignment_queue_counts(owner),
        "rows": list(assignment_queue_for_rep(owner, filters)),
    }
    return render(request, "routing/queue.html", context)
