"""The rep's one-click actions on an assignment, from the queue (htmx) or any page (plain POST).

Visibility first (an assignment the user may not see is a 404), then the form, then the
service, which checks again who may act and on which status. An htmx request gets the
queue's rows region back (re-read, so order and counts stay right) with a short message;
a plain POST is redirected (PRG) to a safe `next`, the message travelling in the session.
Errors are said in words with a 4xx, never a 500.
"""

from collections.abc import Callable
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from routing.models import ActivityKind, Assignment
from routing.selectors.visibility import assignment_get
from routing.services import actions
from routing.services.actions import REJECTION_REASONS
from routing.views.queue import BadQueueRequest, queue_rows_response, queue_view_for

LOG_KINDS = {
    ActivityKind.CALL: "Call logged",
    ActivityKind.EMAIL: "Email logged",
    ActivityKind.MEETING: "Meeting logged",
}


class LogForm(forms.Form):
    kind = forms.ChoiceField(choices=[(kind.value, kind.label) for kind in LOG_KINDS])
    notes = forms.CharField(required=False, max_length=2000)


class RejectForm(forms.Form):
    reason = forms.ChoiceField(
        choices=[(reason, reason) for reason in REJECTION_REASONS],
        error_messages={"required": "Pick why the lead is rejected.", "invalid_choice": "Pick a reason from the list."},
    )


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("routing:queue")


def _in_words(error: ValidationError) -> str:
    return " ".join(error.messages)


def _answer(request, *, message: str, status: int = 200):
    """Success (200) or a refusal (4xx) in words: the rows region for htmx, else PRG or a page."""
    next_url = _next_url(request)
    is_error = status >= 400
    if request.htmx:
        # The rows of the queue the request came from (its rep and filters travel in `next`).
        query = QueryDict(urlsplit(next_url).query)
        try:
            view = queue_view_for(request.user, query)
        except BadQueueRequest:
            view = None
        if view is not None:
            return queue_rows_response(request, view, message=message, is_error=is_error, status=status)
    if is_error:
        return render(request, "routing/action_refused.html", {"message": message, "next_url": next_url}, status=status)
    messages.success(request, message)
    return redirect(next_url)


def _act(request, assignment_id: int, perform: Callable[[Assignment], str]):
    assignment = assignment_get(user=request.user, assignment_id=assignment_id)
    if assignment is None:
        raise Http404("No such assignment.")
    try:
        message = perform(assignment)
    except ValidationError as error:
        return _answer(request, message=_in_words(error), status=400)
    except PermissionDenied as error:
        return _answer(request, message=str(error) or "You may not do this.", status=403)
    return _answer(request, message=message)


def _lead_name(assignment: Assignment) -> str:
    return str(assignment.lead)


@require_POST
@login_required
def assignment_accept(request, assignment_id: int):
    def perform(assignment):
        actions.assignment_accept(assignment_id=assignment.id, user=request.user)
        return f"Accepted {_lead_name(assignment)}"

    return _act(request, assignment_id, perform)


@require_POST
@login_required
def assignment_log(request, assignment_id: int):
    """A call, email or meeting; the rep's first touch stops the SLA clock."""

    def perform(assignment):
        form = LogForm(request.POST)
        if not form.is_valid():
            raise ValidationError("Log a call, an email or a meeting.")
        kind = form.cleaned_data["kind"]
        actions.activity_log(
            assignment_id=assignment.id, user=request.user, kind=kind, notes=form.cleaned_data["notes"]
        )
        return f"{LOG_KINDS[kind]} · {_lead_name(assignment)}"

    return _act(request, assignment_id, perform)


@require_POST
@login_required
def assignment_reject(request, assignment_id: int):
    """Not for sales now, for a reason from the list: the lead goes back to nurture."""

    def perform(assignment):
        form = RejectForm(request.POST)
        if not form.is_valid():
            raise ValidationError(form.errors["reason"][0])
        reason = form.cleaned_data["reason"]
        actions.assignment_reject(assignment_id=assignment.id, user=request.user, reason=reason)
        return f"Rejected {_lead_name(assignment)} ({reason.lower()}): back to nurture"

    return _act(request, assignment_id, perform)
