"""The conversion page (/insights/): the funnel table per group with the MQL (or PQL) volume
next to every downstream count and rate, two charts with their numbers in tables, and the
filters (funnel, dimension, cohort period, dates) as a plain GET form that htmx submits on
change. Managers, marketing ops and admins (org-wide: see insights.selectors.conversion);
anyone else gets 403. Bad filters answer 400 with the errors next to their fields."""

from dataclasses import dataclass

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from insights.engine.stats import Rate
from insights.selectors.access import insights_readable_by
from insights.selectors.conversion import (
    Conversion,
    Dimension,
    Funnel,
    FunnelRow,
    FunnelStep,
    Period,
    conversion_get,
    conversion_query_build,
)

# Below this many leads behind a rate, the page says the rate rests on few leads.
FEW = 20
# The rate chart shows the biggest groups; the table lists them all.
CHART_GROUPS = 15
# The step the rate chart follows: where sales says a lead is worth working.
CHART_STEP = 1


class ConversionForm(forms.Form):
    funnel = forms.ChoiceField(choices=Funnel.choices, required=False, label="Funnel")
    by = forms.ChoiceField(choices=Dimension.choices, required=False, label="Group by")
    period = forms.ChoiceField(choices=Period.choices, required=False, label="Cohorts")
    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))


def _percent(value: float) -> str:
    if 0 < value < 0.005:
        return "<1%"
    return f"{value * 100:.0f}%"


@dataclass(frozen=True)
class RateCell:
    """A rate as the page prints it: never without its count, its denominator and its interval."""

    value: Rate

    @property
    def is_empty(self) -> bool:
        return self.value.total == 0

    @property
    def is_few(self) -> bool:
        return 0 < self.value.total < FEW

    @property
    def percent(self) -> str:
        return "–" if self.is_empty else _percent(self.value.rate)

    @property
    def interval(self) -> str:
        if self.is_empty:
            return ""
        return f"{self.value.low * 100:.0f}–{self.value.high * 100:.0f}%"


@dataclass(frozen=True)
class StepCell:
    step: FunnelStep

    @property
    def from_previous(self) -> RateCell:
        return RateCell(self.step.from_previous)

    @property
    def from_entry(self) -> RateCell:
        return RateCell(self.step.from_entry)

    @property
    def days(self) -> str:
        days = self.step.median_days
        if days is None:
            return ""
        return f"{days:.1f} d" if days < 10 else f"{days:.0f} d"


@dataclass(frozen=True)
class RowView:
    row: FunnelRow

    @property
    def steps(self) -> list[StepCell]:
        return [StepCell(step) for step in self.row.steps]

    @property
    def entry_to_won(self) -> RateCell:
        return RateCell(self.row.steps[-1].from_entry)


def funnel_chart(conversion: Conversion) -> dict:
    """Per cohort, how many entered and how many of them reached each step."""
    cohorts = conversion.cohorts
    datasets = {conversion.entry_label: [row.entered for row in cohorts]}
    for index, step in enumerate(conversion.total.steps):
        datasets[step.label] = [row.steps[index].from_entry.count for row in cohorts]
    return {
        "title": f"{conversion.entry_label} cohorts and what they became",
        "labels": [row.label for row in cohorts],
        "datasets": datasets,
    }


def rate_chart(conversion: Conversion) -> dict:
    """Per group, the share of its entries that reached SQL, with the 95% interval."""
    rows = [row for row in conversion.rows if row.entered][:CHART_GROUPS]
    rates = [row.steps[CHART_STEP].from_entry for row in rows]
    step_label = conversion.total.steps[CHART_STEP].label
    return {
        "title": f"Reached {step_label}, share of {conversion.entry_label}s, by {conversion.dimension_label.lower()}",
        "labels": [row.label for row in rows],
        "rate": [round(rate.rate * 100, 1) for rate in rates],
        "low": [round(rate.low * 100, 1) for rate in rates],
        "high": [round(rate.high * 100, 1) for rate in rates],
        "count": [rate.count for rate in rates],
        "total": [rate.total for rate in rates],
        "rows": [(row.label, RateCell(rate)) for row, rate in zip(rows, rates, strict=True)],
        "is_truncated": len([row for row in conversion.rows if row.entered]) > CHART_GROUPS,
    }


def _chart_json(chart: dict) -> dict:
    return {name: value for name, value in chart.items() if name not in ("rows", "is_truncated")}


def _query(form: ConversionForm):
    """The query the form asks for, defaults filled in; None with the errors put on the form."""
    if not form.is_valid():
        return None
    try:
        return conversion_query_build(**form.cleaned_data, today=timezone.localdate())
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            form.add_error(name, messages)
        return None


@require_GET
@login_required
def conversion_page(request):
    if not insights_readable_by(request.user):
        raise PermissionDenied("Conversion is for managers, marketing ops and admins.")
    form = ConversionForm(request.GET)
    query = _query(form)
    context = {"form": form}
    if query is not None:
        conversion = conversion_get(query)
        funnel, rates = funnel_chart(conversion), rate_chart(conversion)
        context = {
            # Shown as applied, defaults filled in.
            "form": ConversionForm(initial=query.__dict__),
            "conversion": conversion,
            "rows": [RowView(row) for row in conversion.rows],
            "total": RowView(conversion.total),
            "funnel_chart": funnel,
            "funnel_json": _chart_json(funnel),
            "rate_chart": rates,
            "rate_json": _chart_json(rates),
        }
    # htmx asks for the whole page when the Back button finds no copy of it (a history restore).
    is_fragment = request.htmx and not request.htmx.history_restore_request
    template = "insights/conversion_body.html" if is_fragment else "insights/conversion.html"
    return render(request, template, context, status=200 if query is not None else 400)
