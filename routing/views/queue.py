"""The rep's queue page (the same rows and order as GET /api/routing/queue/)."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from leads.models import Source, Stage
from routing.selectors.queue import (
    QueueFilters,
    SlaState,
    assignment_queue_counts,
    assignment_queue_for_rep,
    queue_owner_for,
)


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
