"""The rep's queue page (the same rows and order as GET /api/routing/queue/).

The rows region (#queue-rows) is also what htmx asks for: every minute it polls this view
(HX-Request: only the rows, with the counts swapped out of band), and each row action
(routing/views/actions.py) answers with the same region, so order and counts stay right.
"""

from dataclasses import dataclass, field

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from leads.models import Source, Stage
from qualify_site.roles import Role, user_has_role
from routing.models import Rep
from routing.permissions import reps_managed_by
from routing.selectors.queue import (
    QueueFilters,
    SlaState,
    assignment_queue_counts,
    assignment_queue_counts_by_rep,
    assignment_queue_for_rep,
    assignment_queue_with_clocks,
    queue_owner_for,
)


class QueueFilterForm(forms.Form):
    stage = forms.ChoiceField(required=False, choices=[("", "Any stage"), *Stage.choices])
    source = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    sla_state = forms.ChoiceField(required=False, label="SLA", choices=[("", "Any SLA state"), *SlaState.choices])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [("", "Any source"), *Source.objects.order_by("name").values_list("id", "name")]


class BadQueueRequest(Exception):
    """The query string names no rep the way the page needs (not a whole number)."""


@dataclass
class QueueView:
    """What the queue page and its rows region render; `status` is 400 for a bad filter."""

    context: dict = field(default_factory=dict)
    status: int = 200


def queue_view_for(user, query: QueryDict) -> QueueView | None:
    """The queue `user` asked for with `query` (rep, stage, source, sla_state), or None when
    they may not open it. Raises BadQueueRequest for a rep id that is not a number."""
    rep_id = query.get("rep")
    if rep_id is not None and not rep_id.isdigit():
        raise BadQueueRequest("rep: a rep id is a whole number.")
    owner = queue_owner_for(user, int(rep_id) if rep_id else None)
    if owner is None:
        return None
    form = QueueFilterForm(query)
    kept = QueryDict(mutable=True)
    for name in ("rep", "stage", "source", "sla_state"):
        if query.get(name):
            kept[name] = query[name]
    context = {
        "owner": owner,
        "form": form,
        "rep_id": rep_id,
        "queue_url": reverse("routing:queue") + (f"?{kept.urlencode()}" if kept else ""),
        "queue_htmx": True,  # the row actions (routing/assignment_actions.html) swap the rows in place
    }
    if not form.is_valid():
        return QueueView(context={**context, "rows": [], "counts": None}, status=400)
    filters = QueueFilters(
        stage=form.cleaned_data["stage"] or None,
        source_id=form.cleaned_data["source"],
        sla_state=form.cleaned_data["sla_state"] or None,
    )
    context["counts"] = assignment_queue_counts(owner)
    context["rows"] = assignment_queue_with_clocks(assignment_queue_for_rep(owner, filters), owner)
    return QueueView(context=context)


def queue_rows_response(request, view: QueueView, *, message: str = "", is_error: bool = False, status=None):
    """The rows region with the counts (and a message) swapped out of band."""
    context = {**view.context, "oob": True, "message": message, "is_error": is_error}
    response = render(request, "routing/queue_rows.html", context, status=status or view.status)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@login_required
def assignment_queue(request):
    """The rep's queue (same rows and order as /api/routing/queue/); managers pass ?rep=<id>
    or, without it, pick one of their reps."""
    try:
        view = queue_view_for(request.user, request.GET)
    except BadQueueRequest as error:
        return HttpResponseBadRequest(str(error))
    if view is None:
        if request.GET.get("rep") is None and (
            user_has_role(request.user, Role.MANAGER) or user_has_role(request.user, Role.ADMIN)
        ):
            return _rep_picker(request)
        raise PermissionDenied("You may see only your own queue (managers: their reps').")
    if request.htmx:
        return queue_rows_response(request, view)
    response = render(request, "routing/queue.html", view.context, status=view.status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _rep_picker(request):
    """A manager (or admin) has no queue of their own: the queues they may open, busiest first."""
    reps = Rep.objects.select_related("user", "team").order_by("user__first_name", "user__username")
    if not user_has_role(request.user, Role.ADMIN):
        reps = reps.filter(id__in=reps_managed_by(request.user).values("id"))
    reps = list(reps[:200])
    counts = assignment_queue_counts_by_rep(reps)
    rows = [(rep, counts[rep.id]) for rep in reps]
    return render(request, "routing/queue_reps.html", {"rows": rows})
