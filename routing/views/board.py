"""The manager's board (/manager/): breaches to fix in one click, each rep's load and record,
charts, the fallback queue and the leads fallen below threshold.

Managers see their team, admins everyone; anyone else gets 403. An assignment or rep outside
what the user may see does not exist (404). Writes go through the services, which check
permissions again. Each action answers htmx with the fragment it changes (errors included,
with a 4xx status that static/routing/board.js lets htmx swap in) and a plain POST with a
redirect back to the board, so the page works without JavaScript too.
"""

from collections import defaultdict
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from routing.models import Rep
from routing.selectors.board import (
    PERIOD_CHOICES,
    RepStats,
    board_assignment_get,
    board_fallback,
    board_get,
    board_period,
    board_rep_get,
    board_rep_stats,
    board_reps,
    board_sla,
    board_sla_counts,
)
from routing.services.assignments import assignment_reassign_to_next
from routing.services.reps import rep_capacity_set, rep_out_of_office_add

REASSIGN_REASON = "Reassigned from the manager's board"
DATETIME_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


class PeriodForm(forms.Form):
    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False)


class ReassignForm(forms.Form):
    to_rep = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Reassign to")

    def __init__(self, *args, reps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_rep"].choices = [
            ("", "Next in rotation"),
            *((rep.id, str(rep)) for rep in reps),
        ]


def reassign_options(reps) -> dict[int | None, str]:
    """The reassign select's options for a row, by the rep who holds it: the other reps of the
    holder's team (a lead moves within its team; a rep without a team is offered every rep),
    never the holder. Built once as HTML, since a big board has dozens of rows."""
    options = [(rep, format_html('<option value="{}">{}</option>', rep.id, str(rep))) for rep in reps]
    first = format_html('<option value="">{}</option>', "Next in rotation")

    def for_holder(holder) -> str:
        same_team = [
            html
            for rep, html in options
            if rep.id != holder.id and (holder.team_id is None or rep.team_id == holder.team_id)
        ]
        return mark_safe(first + "".join(same_team))  # noqa: S308 - escaped above

    return defaultdict(
        lambda: mark_safe(first + "".join(html for _, html in options)),  # noqa: S308 - escaped above
        {rep.id: for_holder(rep) for rep, _ in options},
    )


class CapacityForm(forms.Form):
    capacity = forms.IntegerField(min_value=0, max_value=10_000, label="Capacity")


class OutOfOfficeForm(forms.Form):
    starts_at = forms.DateTimeField(
        label="From", input_formats=DATETIME_INPUT_FORMATS, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label="Until",
        input_formats=DATETIME_INPUT_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    note = forms.CharField(max_length=200, required=False, label="Note")

    def clean(self):
        data = super().clean()
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", "The absence must end after it starts.")
        return data


@dataclass
class RepRow:
    """A rep's line on the board. Its two small forms are fetched when the manager opens the
    row's change panel (board_rep_change); they ride along only after a failed change, bound
    with their errors."""

    stats: RepStats
    period: str
    capacity_form: CapacityForm | None = None
    out_of_office_form: OutOfOfficeForm | None = None
    saved: str = ""

    @property
    def has_errors(self) -> bool:
        return any(form is not None and form.errors for form in (self.capacity_form, self.out_of_office_form))

    @property
    def change_forms(self) -> dict:
        return change_forms(self.stats.rep, self.period, self.capacity_form, self.out_of_office_form)


def change_forms(rep: Rep, period: str, capacity_form=None, out_of_office_form=None) -> dict:
    """The change panel's context: the rep's forms (fresh unless given bound ones) and the period."""
    prefix = f"rep{rep.id}"
    return {
        "rep": rep,
        "period": period,
        "capacity_form": capacity_form or CapacityForm(initial={"capacity": rep.capacity}, prefix=prefix),
        "out_of_office_form": out_of_office_form or OutOfOfficeForm(prefix=prefix),
    }


def _rep_row(stats: RepStats, period: str, **overrides) -> RepRow:
    return RepRow(stats=stats, period=period, **overrides)


def _require_board(user):
    reps = board_reps(user)
    if reps is None:
        raise PermissionDenied("The board is for managers (their team) and admins.")
    return reps


def _period_key(data) -> str | None:
    """The chosen period's key (None: the default), or "invalid" for one not offered."""
    form = PeriodForm(data)
    if not form.is_valid():
        return "invalid"
    return form.cleaned_data["period"] or None


def _board_url(period: str | None) -> str:
    url = reverse("routing:board")
    return f"{url}?period={period}" if period else url


def _render_board(request, period_key, *, rep_overrides=None, status=200):
    now = timezone.now()
    period = board_period(period_key, now=now)
    if period is None:
        return HttpResponseBadRequest("period: this_week, last_week or last_30_days.")
    board = board_get(user=request.user, period=period, now=now)
    rep_overrides = rep_overrides or {}
    context = {
        "board": board,
        "period_key": period.key,
        "period_form": PeriodForm(initial={"period": period.key}),
        "reassign_options": reassign_options(board.team_reps),
        "rep_rows": [_rep_row(stats, period.key, **rep_overrides.get(stats.rep.id, {})) for stats in board.reps],
        "charts": [
            ("first-touch", "bar", board.charts["first_touch"]),
            ("sla-per-day", "stacked", board.charts["sla_per_day"]),
            ("queue-age", "bar", board.charts["queue_age"]),
            ("routed", "horizontal", board.charts["routed"]),
        ],
    }
    return render(request, "routing/board.html", context, status=status)


@require_GET
@login_required
def board(request):
    reps = _require_board(request.user)
    if request.htmx and request.htmx.target == "sla-board":
        return _render_sla_board(request, reps)
    return _render_board(request, _period_key(request.GET))


def _render_sla_board(request, reps):
    """The minute's refresh of the live SLA board: its rows and the header counts, nothing else."""
    now = timezone.now()
    sla = board_sla(reps, now=now)
    context = {
        "board": {"sla": sla, "fallback": board_fallback(user=request.user)},
        "period_key": request.GET.get("period", "") if _period_key(request.GET) != "invalid" else "",
        "reassign_options": reassign_options(list(reps.select_related("user"))),
        "oob": True,
    }
    return render(request, "routing/board_sla.html", context)


# --- Reassign --------------------------------------------------------------------------


@require_POST
@login_required
def board_reassign(request, assignment_id: int):
    reps = _require_board(request.user)
    assignment = board_assignment_get(user=request.user, assignment_id=assignment_id)
    if assignment is None:
        raise Http404("No such assignment on your board.")
    team = list(reps.filter(is_active=True).select_related("user"))
    form = ReassignForm(request.POST, reps=team)
    error, done, status = "", "", 200
    if not form.is_valid():
        error, status = "Pick one of your reps, or the next rep in the rotation.", 400
    elif form.cleaned_data["to_rep"] is not None and form.cleaned_data["to_rep"] == assignment.rep_id:
        error, status = f"{assignment.lead} is already {assignment.rep}'s.", 400
    else:
        try:
            new = assignment_reassign_to_next(
                assignment_id=assignment.id,
                actor=request.user,
                reason=REASSIGN_REASON,
                to_rep_id=form.cleaned_data["to_rep"],
            )
        except ValidationError as refusal:
            error, status = " ".join(refusal.messages), 409
        except PermissionDenied as refusal:
            error, status = str(refusal), 403
        else:
            done = (
                f"{assignment.lead} reassigned to {new.rep}."
                if new is not None
                else f"Nobody else is available: {assignment.lead} waits in {assignment.queue}."
            )
    if not request.htmx:
        (messages.success if done else messages.error)(request, done or error)
        return redirect(_board_url(request.POST.get("period")))
    now = timezone.now()
    rows = [] if done else board_sla(reps, now=now, assignment_id=assignment.id).rows
    context = {"row": rows[0] if rows else None, "assignment": assignment, "error": error, "done": done}
    if done:
        # The header's counts change with the row: sent along, swapped out of band.
        context["counts"] = board_sla_counts(reps, now=now)
        context["fallback_count"] = board_fallback(user=request.user).count
    context["reassign_options"] = reassign_options(team)
    context["period_key"] = request.POST.get("period", "")
    return render(request, "routing/board_sla_row.html", context, status=status)


# --- A rep's capacity and out of office ------------------------------------------------


def _rep_change(request, rep_id: int, *, apply) -> object:
    """Shared by the two rep forms: find the rep (404 outside the board), apply the change,
    answer with the rep's row (htmx) or a redirect; 400 with the errors next to the fields."""
    _require_board(request.user)
    rep = board_rep_get(user=request.user, rep_id=rep_id)
    if rep is None:
        raise Http404("No such rep on your board.")
    period_key = _period_key(request.POST)
    if period_key == "invalid":
        period_key = None
    overrides, saved = apply(rep)
    status = 400 if overrides else 200
    if not request.htmx:
        if overrides:
            return _render_board(request, period_key, rep_overrides={rep.id: overrides}, status=status)
        messages.success(request, saved)
        return redirect(_board_url(period_key))
    now = timezone.now()
    period = board_period(period_key, now=now)
    stats = board_rep_stats(board_reps(request.user).filter(id=rep.id), period=period, now=now)
    if not stats:
        raise Http404("No such rep on your board.")
    row = _rep_row(stats[0], period.key, saved="" if overrides else saved, **overrides)
    return render(request, "routing/board_rep_row.html", {"rep_row": row}, status=status)


@require_GET
@login_required
def board_rep_change(request, rep_id: int):
    """A rep's change panel (capacity, out of office): the row's <details> fetches it when opened
    (htmx); without JavaScript its link opens it as a page."""
    _require_board(request.user)
    rep = board_rep_get(user=request.user, rep_id=rep_id)
    if rep is None:
        raise Http404("No such rep on your board.")
    period_key = _period_key(request.GET)
    context = change_forms(rep, "" if period_key in (None, "invalid") else period_key)
    template = "routing/board_rep_change.html" if request.htmx else "routing/board_rep_change_page.html"
    return render(request, template, context)


def _service_errors(form: forms.Form, error: ValidationError) -> None:
    for field, messages_ in error.message_dict.items() if hasattr(error, "error_dict") else [(None, error.messages)]:
        form.add_error(field if field in form.fields else None, messages_)


@require_POST
@login_required
def board_rep_capacity(request, rep_id: int):
    def apply(rep):
        form = CapacityForm(request.POST, prefix=f"rep{rep.id}")
        if form.is_valid():
            try:
                rep_capacity_set(rep_id=rep.id, capacity=form.cleaned_data["capacity"], user=request.user)
            except ValidationError as error:
                _service_errors(form, error)
            else:
                return {}, f"{rep}: capacity set to {form.cleaned_data['capacity']}."
        return {"capacity_form": form}, ""

    return _rep_change(request, rep_id, apply=apply)


@require_POST
@login_required
def board_rep_out_of_office(request, rep_id: int):
    def apply(rep):
        form = OutOfOfficeForm(request.POST, prefix=f"rep{rep.id}")
        if form.is_valid():
            data = form.cleaned_data
            try:
                rep_out_of_office_add(
                    rep_id=rep.id,
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    note=data["note"],
                    user=request.user,
                )
            except ValidationError as error:
                _service_errors(form, error)
            else:
                return (
                    {},
                    f"{rep}: out of office from {data['starts_at']:%-d %b %H:%M} to {data['ends_at']:%-d %b %H:%M}.",
                )
        return {"out_of_office_form": form}, ""

    return _rep_change(request, rep_id, apply=apply)
