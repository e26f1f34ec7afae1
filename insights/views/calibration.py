"""Pages for managers and marketing ops: calibration (/insights/calibration/) and what precedes
buying (/insights/precedes/).

Plain GET forms that work without JavaScript; the charts are drawn by
static/insights/calibration.js from the JSON beside each canvas (json_script, so nothing inline
under the CSP), each with its numbers in a table. Both reports are computed by a task and stored
(insights/services/reports.py: a calibration is two rescores as of past dates, about a minute at
100k leads): the page shows the stored figures, or "Computing…" that htmx polls every 2 s
(`report_fragment`) until the figures replace it. Marketing ops and admins may recompute one.
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from insights.models import BacktestStatus, InsightReport, ReportKind
from insights.selectors import calibration as calibration_selectors
from insights.selectors import precedes as precedes_selectors
from insights.selectors.access import insights_readable_by, insights_recomputable_by
from insights.selectors.snapshot import UNITS
from insights.services import reports
from scoring.models import RuleVersion
from scoring.selectors import rule_version_live

UNIT_CHOICES = [(unit, f"{unit.title()}s") for unit in UNITS]
POSITIVE_CHOICES = [("won", "Won (closed-won)"), ("opportunity", "Opportunity (or a closed deal)")]
OBJECTIVE_CHOICES = [
    ("f1", "F1: precision and recall alike"),
    ("f2", "F2: recall counts twice"),
    ("capacity", "Fill the team's capacity"),
]
DATE_WIDGET = forms.DateInput(attrs={"type": "date"})


def _check_may_read(user) -> None:
    if not insights_readable_by(user):
        raise PermissionDenied("Only managers, marketing ops and admins read insights.")


def _may_recompute(user) -> bool:
    return insights_recomputable_by(user)


def _check_date(value):
    problem = value and calibration_selectors.report_date_problem(value, today=timezone.localdate())
    if problem:
        raise forms.ValidationError(problem)
    return value


class CalibrationForm(forms.Form):
    version = forms.ModelChoiceField(
        queryset=RuleVersion.objects.order_by("-number"), required=False, empty_label="The live version"
    )
    unit = forms.ChoiceField(choices=UNIT_CHOICES, initial="lead")
    as_of = forms.DateField(required=False, label="As of", widget=DATE_WIDGET, help_text="Default: a horizon ago.")
    horizon = forms.IntegerField(
        min_value=1,
        max_value=calibration_selectors.MAX_HORIZON_DAYS,
        initial=calibration_selectors.DEFAULT_HORIZON_DAYS,
        label="Horizon (days)",
    )
    capacity = forms.IntegerField(
        min_value=0, max_value=calibration_selectors.MAX_CAPACITY, required=False, help_text="Default: the team's."
    )
    objective = forms.ChoiceField(choices=OBJECTIVE_CHOICES, initial="f1", label="Suggest a threshold for")
    positive = forms.ChoiceField(choices=POSITIVE_CHOICES, initial="won", label="Converted means")

    def clean_as_of(self):
        return _check_date(self.cleaned_data.get("as_of"))

    def clean(self):
        data = super().clean()
        if not data.get("version") and "version" not in self.errors:
            data["version"] = rule_version_live()
            if data["version"] is None:
                self.add_error("version", "No version is live: choose one.")
        return data


class PrecedesForm(forms.Form):
    before = forms.DateField(required=False, label="Wins before", widget=DATE_WIDGET, help_text="Default: today.")
    window = forms.IntegerField(
        min_value=1,
        max_value=precedes_selectors.MAX_WINDOW_DAYS,
        initial=precedes_selectors.DEFAULT_WINDOW_DAYS,
        label="Window (days)",
    )
    unit = forms.ChoiceField(choices=[("account", "Accounts"), ("lead", "Leads")], initial="account")
    positive = forms.ChoiceField(choices=POSITIVE_CHOICES, initial="won", label="Buying means")

    def clean_before(self):
        return _check_date(self.cleaned_data.get("before"))


def _bound(form_class, request):
    """The form bound to the query, with the initial values for what the query leaves out."""
    data = {name: field.initial for name, field in form_class.base_fields.items() if field.initial is not None}
    data.update({key: value for key, value in request.GET.items() if value != ""})
    return form_class(data)


def _status(form, request) -> int:
    """400 for a query in error; the page opened bare (no live version yet) is 200 with the form's word."""
    return 200 if form.is_valid() or not request.GET else 400


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def calibration_charts(report: dict) -> dict:
    """The three charts' data, as calibration.js draws them."""
    distribution = report["distribution"]
    reliability = report["probabilities"].get("reliability") or []
    return {
        "distribution": {
            "labels": [f"{bin['low']:.0f} to {bin['high']:.0f}" for bin in distribution],
            "datasets": {
                "Converted": [bin["converted"] for bin in distribution],
                "Not converted": [bin["not_converted"] for bin in distribution],
            },
        },
        "bands": {
            "labels": [str(band["band"]) for band in report["bands"]],
            "datasets": {"Converted (%)": [_percent(band["converted"]["rate"]) for band in report["bands"]]},
            "base": _percent(report["base_rate"]["rate"]),
        },
        "reliability": {
            "points": [
                {
                    "x": _percent(bin["mean_predicted"]),
                    "y": _percent(bin["observed"]["rate"]),
                    "n": bin["observed"]["total"],
                }
                for bin in reliability
            ],
        },
    }


def _page_url(report: InsightReport) -> str:
    """The page of the report's parameters (what the query asked, defaults resolved)."""
    query = {name: value for name, value in report.params.items() if value is not None}
    return f"{reverse(f'insights:{report.kind}')}?{urlencode(query)}"


def _stored_context(request, report: InsightReport | None) -> dict:
    """What calibration_stored.html needs: the report's state and, when done, its figures."""
    if report is None:
        return {"stored": None}
    context = {
        "stored": report,
        "page_url": _page_url(report),
        "may_recompute": _may_recompute(request.user),
        "fresh_hours": int(reports.FRESH_FOR.total_seconds() // 3600),
        "waited_seconds": int((timezone.now() - (report.started_at or report.requested_at)).total_seconds()),
    }
    if report.status == BacktestStatus.DONE and report.kind == ReportKind.CALIBRATION:
        figures = {**report.results, "version": report.version}
        context.update(report=figures, charts=calibration_charts(figures))
    elif report.status == BacktestStatus.DONE:
        context["report"] = report.results
    return context


@login_required
@require_GET
def calibration_page(request):
    _check_may_read(request.user)
    form = _bound(CalibrationForm, request)
    report = None
    if form.is_valid():
        data = form.cleaned_data
        horizon = data["horizon"]
        params = reports.calibration_params(
            version=data["version"],
            as_of=data["as_of"] or calibration_selectors.default_as_of(timezone.localdate(), horizon),
            horizon=horizon,
            unit=data["unit"],
            capacity=data["capacity"],
            objective=data["objective"],
            positive=data["positive"],
        )
        report = reports.report_request(kind=ReportKind.CALIBRATION, params=params, user=request.user)
    context = {"form": form, **_stored_context(request, report)}
    return render(request, "insights/calibration.html", context, status=_status(form, request))


@login_required
@require_GET
def precedes_page(request):
    _check_may_read(request.user)
    form = _bound(PrecedesForm, request)
    report = None
    if form.is_valid():
        data = form.cleaned_data
        params = reports.precedes_params(
            before=data["before"] or timezone.localdate(),
            window=data["window"],
            unit=data["unit"],
            positive=data["positive"],
        )
        report = reports.report_request(kind=ReportKind.PRECEDES, params=params, user=request.user)
    context = {"form": form, **_stored_context(request, report)}
    return render(request, "insights/precedes.html", context, status=_status(form, request))


@login_required
@require_GET
def report_fragment(request, report_id: int):
    """The stored report's part of its page, as htmx polls it: still computing, failed, or the figures."""
    _check_may_read(request.user)
    report = get_object_or_404(InsightReport.objects.select_related("version"), id=report_id)
    return render(request, "insights/calibration_stored.html", _stored_context(request, report))


@login_required
@require_POST
def report_recompute(request, report_id: int):
    """Compute the report again now (marketing ops and admins: managers read them)."""
    if not _may_recompute(request.user):
        raise PermissionDenied("Only marketing ops and admins recompute insights.")
    get_object_or_404(InsightReport, id=report_id)
    report = reports.report_recompute(report_id=report_id, user=request.user)
    return redirect(_page_url(report))
