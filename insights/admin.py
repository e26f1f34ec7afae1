"""The backtests admin: runs with their progress, a version's backtest page (chart and tables),
and the form that starts one.

Marketing ops and admins start backtests; managers look (qualify_site/roles.py, checked here on
the server). Published versions are immutable (scoring/models.py), so the start page lives here
with its own URL rather than on the rule version's page:
`admin:insights_backtestrun_start` (version id) and `admin:insights_backtestrun_version`.
"""

from dataclasses import asdict

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from insights.models import BacktestRun, BacktestStatus, BacktestUnit, InsightReport, PositiveKind
from insights.selectors.access import insights_readable_by, insights_recomputable_by
from insights.selectors.backtest import backtest_defaults, backtest_runs_for_version, version_validation_flag
from insights.services.backtest import backtest_start
from scoring.models import RuleVersion


class _WrittenByTasks(admin.ModelAdmin):
    """Records only tasks write: who reads insights reads them (insights/selectors/access.py)."""

    def has_module_permission(self, request):
        return insights_readable_by(request.user)

    def has_view_permission(self, request, obj=None):
        return insights_readable_by(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class BacktestStartForm(forms.Form):
    from_date = forms.DateField(
        label="First point", help_text="Midnight UTC of this day.", widget=forms.DateInput(attrs={"type": "date"})
    )
    to_date = forms.DateField(
        label="Last point", help_text="No later than today.", widget=forms.DateInput(attrs={"type": "date"})
    )
    step_days = forms.IntegerField(label="Step (days)", min_value=1, help_text="Days between points.")
    horizon_days = forms.IntegerField(
        label="Horizon (days)", min_value=1, help_text="Outcomes this many days after a point label it."
    )
    capacity = forms.IntegerField(min_value=1, help_text="Leads (or accounts) the team can work per step.")
    unit = forms.ChoiceField(choices=BacktestUnit.choices)
    positive = forms.ChoiceField(label="Converted means", choices=PositiveKind.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"id_{name}-help"


def percent(rate: dict | None) -> str:
    """'50.0% (1 of 2; 9–91%)': a rate with its count and its 95% interval, or a dash."""
    if not rate or rate.get("rate") is None:
        return "–"
    return f"{rate['rate']:.1%} ({rate['count']:,} of {rate['total']:,}; {rate['low']:.0%}–{rate['high']:.0%})"


def times(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def summary_rows(results: dict) -> list[tuple[str, str, str]]:
    """(measure, this version, compared version) for the page's summary table."""
    ours, theirs = results.get("version") or {}, results.get("compared") or {}

    def both(read) -> tuple[str, str]:
        return read(ours) if ours else "–", read(theirs) if theirs else "–"

    rows = [
        ("Qualified at some point", *both(lambda side: f"{side['qualified']:,}")),
        ("Precision at capacity", *both(lambda side: percent(side["at_capacity"]["precision"]))),
        ("Recall at capacity", *both(lambda side: percent(side["at_capacity"]["recall"]))),
        ("Lift at capacity", *both(lambda side: times(side["at_capacity"]["lift"]))),
        ("Precision at the threshold", *both(lambda side: percent(side["at_threshold"]["precision"]))),
        ("Recall at the threshold", *both(lambda side: percent(side["at_threshold"]["recall"]))),
        ("Base rate", *both(lambda side: percent(side["at_capacity"]["base_rate"]))),
    ]
    for name, label in (("sql", "SQL"), ("opportunity", "opportunity"), ("won", "won")):
        rows.append((f"Qualified, later reached {label}", *both(lambda side, name=name: f"{side['reached'][name]:,}")))
    return rows


def chart_data(results: dict, *, version: str, compared: str | None) -> dict:
    """Two charts over the points: precision at capacity, and how many each version qualified."""
    labels = [point["as_of"] for point in results["per_point"]]
    sides = [("version", version)] + ([("compared", compared)] if compared else [])

    def series(read) -> dict:
        return {name: [read(point[side]) for point in results["per_point"]] for side, name in sides}

    return {
        "precision": {
            "title": "Precision at capacity at each point",
            "labels": labels,
            "datasets": series(lambda figures: figures["at_capacity"]["precision"]["rate"]),
        },
        "qualified": {
            "title": "Qualified at each point",
            "labels": labels,
            "datasets": series(lambda figures: figures["qualified"]),
        },
    }


@admin.register(BacktestRun)
class BacktestRunAdmin(_WrittenByTasks):
    list_display = ["run", "version", "compared_version", "unit", "points", "status", "progress", "finished_at"]
    list_filter = ["status", "unit"]
    list_select_related = ["version", "compared_version"]
    ordering = ["-created_at", "-id"]
    fields = [
        "results_link",
        ("version", "compared_version"),
        ("unit", "positive"),
        ("from_date", "to_date", "step_days"),
        ("horizon_days", "capacity"),
        ("status", "progress"),
        ("requested_by", "created_at", "started_at", "finished_at"),
        "error",
    ]
    readonly_fields = ["results_link", "progress", "created_at"]

    # Runs are started from a version's page and written by their tasks only; those who start them may delete them.
    def has_delete_permission(self, request, obj=None):
        return insights_recomputable_by(request.user)

    @admin.display(description="Run", ordering="id")
    def run(self, obj) -> str:
        return format_html('<a href="{}">#{}</a>', reverse("admin:insights_backtestrun_results", args=[obj.pk]), obj.pk)

    @admin.display(description="Results")
    def results_link(self, obj) -> str:
        url = reverse("admin:insights_backtestrun_results", args=[obj.pk])
        return format_html('<a href="{}">The results, with a chart</a>', url)

    @admin.display(description="Points")
    def points(self, obj) -> str:
        return (
            f"{obj.from_date:%Y-%m-%d} to {obj.to_date:%Y-%m-%d}, every {obj.step_days} d; horizon {obj.horizon_days} d"
        )

    @admin.display(description="Progress")
    def progress(self, obj) -> str:
        return progress_text(obj)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "validation_flag": version_validation_flag()}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        view = self.admin_site.admin_view
        custom = [
            path("<int:run_id>/results/", view(self.results_view), name="insights_backtestrun_results"),
            path("<int:run_id>/progress/", view(self.progress_view), name="insights_backtestrun_progress"),
            path("version/<int:version_id>/", view(self.version_view), name="insights_backtestrun_version"),
            path("version/<int:version_id>/start/", view(self.start_view), name="insights_backtestrun_start"),
        ]
        return custom + super().get_urls()

    def _page(self, request, template: str, title: str, **context) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "can_start": insights_recomputable_by(request.user),
            "is_nav_sidebar_enabled": False,
            "validation_flag": version_validation_flag(),
            **context,
        }
        return TemplateResponse(request, f"admin/insights/backtestrun/{template}", context)

    def _check(self, request, *, start: bool = False) -> None:
        if not (insights_recomputable_by(request.user) if start else insights_readable_by(request.user)):
            raise PermissionDenied

    def results_view(self, request, run_id: int):
        self._check(request)
        run = get_object_or_404(BacktestRun.objects.select_related("version", "compared_version"), pk=run_id)
        return self._results_page(request, run.version, run)

    def version_view(self, request, version_id: int):
        """The version's backtest page: its latest finished run (or the one under way), and the others."""
        self._check(request)
        version = get_object_or_404(RuleVersion, pk=version_id)
        runs = backtest_runs_for_version(version_id=version.pk)
        shown = next((run for run in runs if run.status == BacktestStatus.DONE), runs[0] if runs else None)
        return self._results_page(request, version, shown, runs=runs)

    def _results_page(self, request, version: RuleVersion, run: BacktestRun | None, runs=None) -> TemplateResponse:
        results = run.results if run is not None and run.status == BacktestStatus.DONE else None
        context = {"version": version, "run": run, "runs": runs, "results": results}
        if results:
            compared = run.compared_version
            context.update(
                summary=summary_rows(results),
                charts=chart_data(
                    results,
                    version=f"v{version.number}",
                    compared=f"v{compared.number} (live)" if compared and results.get("compared") else None,
                ),
                bands=_bands(results),
                per_point=_per_point(results),
                changes=results.get("changes"),
            )
        title = f"Backtest #{run.pk} of v{version.number}" if run else f"Backtests of v{version.number}"
        return self._page(request, "results.html", title, **context)

    def progress_view(self, request, run_id: int):
        """The progress line alone, for the page to ask again while the run is under way (htmx)."""
        self._check(request)
        run = get_object_or_404(BacktestRun, pk=run_id)
        if run.is_finished:
            # Show the results: the whole page again.
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return response
        return TemplateResponse(request, "admin/insights/backtestrun/progress.html", {"run": run})

    def start_view(self, request, version_id: int):
        self._check(request, start=True)
        version = get_object_or_404(RuleVersion, pk=version_id)
        defaults = backtest_defaults()
        form = BacktestStartForm(request.POST or None, initial={**asdict(defaults), "unit": "lead", "positive": "won"})
        status = 200
        if request.method == "POST":
            if form.is_valid():
                try:
                    run = backtest_start(version_id=version.pk, user=request.user, **form.cleaned_data)
                except ValidationError as error:
                    for field, problems in error.message_dict.items():
                        form.add_error(field if field in form.fields else None, problems)
                else:
                    self.message_user(
                        request,
                        f"Backtest #{run.pk} of v{version.number} is queued: {run.steps_total:,} steps.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:insights_backtestrun_results", args=[run.pk]))
            status = 400
        response = self._page(request, "start.html", f"Backtest v{version.number}", version=version, form=form)
        response.status_code = status
        return response


def progress_text(run: BacktestRun) -> str:
    if run.status == BacktestStatus.DONE:
        return "done"
    if run.status == BacktestStatus.FAILED:
        return "failed"
    return f"{run.steps_done:,} of {run.steps_total:,} steps ({run.progress_percent}%)"


def _bands(results: dict) -> list[tuple]:
    """(band, this version's conversion and lift, the compared version's) per score band."""
    ours = (results.get("version") or {}).get("bands", [])
    theirs = {band["band"]: band for band in (results.get("compared") or {}).get("bands", [])}
    return [
        (
            band["band"],
            f"{band['low_score']:g}–{band['high_score']:g}",
            percent(band["converted"]),
            times(band["lift"]),
            percent(theirs[band["band"]]["converted"]) if band["band"] in theirs else "–",
            times(theirs[band["band"]]["lift"]) if band["band"] in theirs else "–",
        )
        for band in ours
    ]


def _per_point(results: dict) -> list[tuple]:
    rows = []
    for point in results["per_point"]:
        ours, theirs = point.get("version") or {}, point.get("compared") or {}
        rows.append(
            (
                point["as_of"],
                "yes" if point["labels_complete"] else "not yet",
                f"{point['candidates']:,}",
                f"{point['positives']:,}",
                f"{ours.get('qualified', 0):,}",
                f"{theirs['qualified']:,}" if theirs else "–",
                percent(ours["at_capacity"]["precision"]) if ours else "–",
                percent(theirs["at_capacity"]["precision"]) if theirs else "–",
            )
        )
    return rows


@admin.register(InsightReport)
class InsightReportAdmin(_WrittenByTasks):
    """Stored calibration and what-precedes reports, read only: written by their task
    (services/reports.py) and recomputed from their page, so an error can be read here."""

    list_display = ["id", "kind", "status", "version", "requested_at", "finished_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["version"]
    ordering = ["-requested_at", "-id"]
    # The figures themselves are on the report's page; here what was asked, when, and how it ended.
    fields = [
        ("kind", "status", "version"),
        "params",
        "watermark",
        ("requested_by", "requested_at", "started_at", "finished_at"),
        "error",
    ]

    def has_delete_permission(self, request, obj=None):
        return False
