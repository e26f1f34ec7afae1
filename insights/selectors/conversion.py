"""Stage-to-stage conversion: of the leads that first became MQL (or PQL) in a period, how many
were then accepted, reached SQL, opportunity and won, and how long each step took, grouped by
source, campaign, campaign type, segment, the rule version that qualified them, or cohort.

The definitions (tests/insights/test_conversion.py holds each of them):

- Cohort: the moment a lead *first* entered the funnel's stage (its first stage change to MQL,
  or to PQL), by month or quarter in the site's time zone. A lead that qualifies again after
  nurture stays in its first cohort. A lead that went MQL then PQL is in both funnels; one that
  went straight to PQL is in the PQL funnel only.
- Downstream counts from that moment on. Accepted: the first acceptance of one of the lead's
  assignments by a rep (routing's Assignment.accepted_at), or a stage change to accepted. SQL,
  opportunity, won: the first stage change there; won only while the lead is still won (a win the
  CRM took back, closed won corrected to closed lost, counts up to opportunity).
- A lead that reached a later step passed every step before it, at the moment it reached the
  later one: won with no SQL row counts as SQL and as opportunity too, with zero days spent in
  them. So no step counts more leads than the one before it, and a step's "days from the
  previous step" is the time the lead spent in the previous step (zero when it skipped through).
- Days are calendar days (not business time); the median is over the leads that reached the step.
- Leads merged into another are left out: the survivor carries the person's history.
- Rule version: the version named in the evidence of the stage change that entered the funnel
  (scoring writes `rule_version_id`); a lead qualified by hand has none.

Two queries whatever the number of leads: the figures, and the rule versions' names. On
PostgreSQL the figures come aggregated, one row per group and per cohort, medians included
(insights.selectors.conversion_sql); SQLite has no percentile, so its twin reads one row per lead
of the range with its steps' times (aggregated per lead in SQL) and tallies them here.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Exists, F, Min, OuterRef, Q, TextChoices
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from insights.engine.stats import Rate, median
from insights.selectors.conversion_sql import COHORT, TOTAL, funnel_rows_postgresql
from leads.models import CampaignType, Segment, Stage, StageChange
from qualify_site.bulk_sql import is_postgresql
from scoring.models import RuleVersion


class Funnel(TextChoices):
    MQL = Stage.MQL.value, "MQL"
    PQL = Stage.PQL.value, "PQL"


class Dimension(TextChoices):
    SOURCE = "source", "Source"
    CAMPAIGN = "campaign", "Campaign"
    CAMPAIGN_TYPE = "campaign_type", "Campaign type"
    SEGMENT = "segment", "Segment"
    RULE_VERSION = "rule_version", "Rule version"
    COHORT = "cohort", "Cohort"


class Period(TextChoices):
    MONTH = "month", "Monthly"
    QUARTER = "quarter", "Quarterly"


# The steps after the funnel's entry, in order.
STEPS = (Stage.ACCEPTED, Stage.SQL, Stage.OPPORTUNITY, Stage.WON)
STEP_LABELS = {Stage.ACCEPTED: "Accepted", Stage.SQL: "SQL", Stage.OPPORTUNITY: "Opportunity", Stage.WON: "Won"}
# Dates outside these are typing mistakes, and a span over ten years would list hundreds of cohorts.
EARLIEST_DATE, LATEST_DATE = date(1970, 1, 1), date(2999, 12, 31)
MAX_SPAN_DAYS = 3660
DEFAULT_COHORTS = {Period.MONTH: 12, Period.QUARTER: 4}
NO_VALUE_LABELS = {
    Dimension.SOURCE: "No source",
    Dimension.CAMPAIGN: "No campaign",
    Dimension.CAMPAIGN_TYPE: "No campaign",
    Dimension.SEGMENT: "No account",
    Dimension.RULE_VERSION: "Qualified by hand",
}


@dataclass(frozen=True)
class ConversionQuery:
    funnel: str
    by: str
    period: str
    start: date  # inclusive, site time zone
    end: date  # inclusive


@dataclass(frozen=True)
class FunnelStep:
    stage: str
    label: str
    from_previous: Rate  # this step's leads over the previous step's (the entry's for the first)
    from_entry: Rate  # this step's leads over the funnel's entries
    median_days: float | None  # from the previous step, calendar days; None when nobody got here


@dataclass(frozen=True)
class FunnelRow:
    key: str | None
    label: str
    entered: int
    steps: tuple[FunnelStep, ...]


@dataclass(frozen=True)
class Conversion:
    query: ConversionQuery
    entry_label: str
    dimension_label: str
    rows: tuple[FunnelRow, ...]
    total: FunnelRow
    cohorts: tuple[FunnelRow, ...]  # every cohort of the range, empty ones too (the chart's axis)


# --- The query: checked and completed ----------------------------------------------------


def _period_start(day: date, period: str) -> date:
    month = day.month if period == Period.MONTH else 3 * ((day.month - 1) // 3) + 1
    return date(day.year, month, 1)


def _next_period(day: date, period: str) -> date:
    """The first day of the period after the one starting on `day`."""
    months = day.year * 12 + day.month - 1 + (1 if period == Period.MONTH else 3)
    return date(months // 12, months % 12 + 1, 1)


def conversion_query_build(
    *, funnel: str | None, by: str | None, period: str | None, start: date | None, end: date | None, today: date
) -> ConversionQuery:
    """Defaults filled in (the MQL funnel by source, monthly, the last 12 months or 4 quarters
    to `today`), or ValidationError naming the field. The choices are checked by the callers'
    forms; the dates are checked here, once for the page and the API."""
    funnel, by, period = funnel or Funnel.MQL, by or Dimension.SOURCE, period or Period.MONTH
    end = end or today
    if start is None:
        start = _period_start(min(end, LATEST_DATE), period)
        for _ in range(DEFAULT_COHORTS[Period(period)] - 1):
            start = _period_start(start - timedelta(days=1), period)
    for name, day in (("start", start), ("end", end)):
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            raise ValidationError({name: f"Give a date between {EARLIEST_DATE} and {LATEST_DATE}."})
    if start > end:
        raise ValidationError({"end": "The end comes before the start."})
    if (end - start).days > MAX_SPAN_DAYS:
        raise ValidationError({"start": "Ten years at most between the start and the end."})
    return ConversionQuery(funnel=funnel, by=by, period=period, start=start, end=end)


# --- Cohorts ------------------------------------------------------------------------------


def cohort_key(moment: datetime, period: str, zone=None) -> str:
    # The zone is passed in by loops: looking the current one up costs more than the rest here.
    return _cohort_key_of_day(moment.astimezone(zone or timezone.get_current_timezone()), period)


def _cohort_key_of_day(local: date | datetime, period: str) -> str:
    if period == Period.MONTH:
        return f"{local.year}-{local.month:02d}"
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


def _cohort_label(first_day: date, period: str) -> str:
    if period == Period.MONTH:
        return first_day.strftime("%b %Y")
    return f"Q{(first_day.month - 1) // 3 + 1} {first_day.year}"


def _cohorts(query: ConversionQuery) -> dict[str, str]:
    """Every cohort the range touches, in order, key to label."""
    cohorts, day = {}, _period_start(query.start, query.period)
    while day <= query.end:
        moment = timezone.make_aware(datetime.combine(day, time.min))
        cohorts[cohort_key(moment, query.period)] = _cohort_label(day, query.period)
        day = _next_period(day, query.period)
    return cohorts


# --- The one pass over the entries ---------------------------------------------------------


def _first_change_to(stages) -> Min:
    """When the lead first reached any of `stages` at or after entering the funnel."""
    return Min(
        "lead__stage_changes__changed_at",
        filter=Q(lead__stage_changes__to_stage__in=stages, lead__stage_changes__changed_at__gte=F("changed_at")),
    )


GROUP_COLUMNS = {
    Dimension.SOURCE: ("lead__source_id", "lead__source__name"),
    Dimension.CAMPAIGN: ("lead__campaign_id", "lead__campaign__name"),
    Dimension.CAMPAIGN_TYPE: ("lead__campaign__type", None),
    Dimension.SEGMENT: ("lead__account__segment", None),
    Dimension.RULE_VERSION: ("qualifying_version", None),
    Dimension.COHORT: (None, None),
}


def _range(query: ConversionQuery) -> tuple[datetime, datetime]:
    """The range's first moment and the moment after its last, in the site's time zone."""
    start_at = timezone.make_aware(datetime.combine(query.start, time.min))
    return start_at, timezone.make_aware(datetime.combine(query.end + timedelta(days=1), time.min))


def _entries(query: ConversionQuery):
    """One row per lead that first entered the funnel in the range, with the first time it
    reached each later step (a later stage counts for the earlier ones: see the module's notes)."""
    start_at, end_at = _range(query)
    earlier_entry = StageChange.objects.filter(lead_id=OuterRef("lead_id"), to_stage=query.funnel).filter(
        Q(changed_at__lt=OuterRef("changed_at")) | Q(changed_at=OuterRef("changed_at"), id__lt=OuterRef("id"))
    )
    key_column, label_column = GROUP_COLUMNS[Dimension(query.by)]
    group_columns = [column for column in (key_column, label_column) if column]
    # Grouped by the entering row (its id among the columns): one row per lead, its downstream
    # times as aggregates over the lead's stage changes and assignments joined once (a join
    # costs a fraction of a correlated subquery per row at 100k leads). Joining both multiplies
    # the rows, which changes no minimum.
    return (
        StageChange.objects.filter(
            to_stage=query.funnel, changed_at__gte=start_at, changed_at__lt=end_at, lead__merged_into__isnull=True
        )
        .filter(~Exists(earlier_entry))
        .annotate(qualifying_version=KeyTextTransform("rule_version_id", "evidence"))
        .values("id", "changed_at", *group_columns)
        .annotate(
            accepted_by_rep=Min(
                "lead__assignments__accepted_at",
                filter=Q(lead__assignments__accepted_at__gte=F("changed_at")),
            ),
            **{f"reached_{stage}": _first_change_to(STEPS[index:]) for index, stage in enumerate(STEPS[:-1])},
            # A win counts while it stands: the CRM may correct a closed-won deal to closed lost
            # (routing.services.outcomes), which leaves the won row in the history.
            reached_won=Min(
                "lead__stage_changes__changed_at",
                filter=Q(
                    lead__stage_changes__to_stage=Stage.WON,
                    lead__stage_changes__changed_at__gte=F("changed_at"),
                    lead__stage=Stage.WON,
                ),
            ),
        )
        .order_by()
        .values_list("changed_at", "accepted_by_rep", *(f"reached_{stage}" for stage in STEPS), *group_columns)
    )


@dataclass(frozen=True)
class _Figures:
    """A group's counts and medians, however they were computed."""

    entered: int = 0
    reached: tuple[int, ...] = (0,) * len(STEPS)
    median_days: tuple[float | None, ...] = (None,) * len(STEPS)

    def row(self, key: str | None, label: str) -> FunnelRow:
        steps, previous = [], self.entered
        for index, stage in enumerate(STEPS):
            count = self.reached[index]
            steps.append(
                FunnelStep(
                    stage=stage,
                    label=STEP_LABELS[stage],
                    from_previous=Rate(count, previous),
                    from_entry=Rate(count, self.entered),
                    median_days=self.median_days[index],
                )
            )
            previous = count
        return FunnelRow(key=key, label=label, entered=self.entered, steps=tuple(steps))


@dataclass(frozen=True)
class _Grouped:
    groups: dict[object, tuple[_Figures, str | None]]  # by the dimension's key: figures, name
    cohorts: dict[str, _Figures]  # the cohorts with leads
    total: _Figures


@dataclass
class _Tally:
    entered: int = 0
    reached: list[int] = field(default_factory=lambda: [0] * len(STEPS))
    days: list[list[float]] = field(default_factory=lambda: [[] for _ in STEPS])

    def add(self, entered_at: datetime, reached_at: list[datetime | None]) -> None:
        self.entered += 1
        previous = entered_at
        for index, moment in enumerate(reached_at):
            if moment is None:
                break
            self.reached[index] += 1
            self.days[index].append((moment - previous).total_seconds() / 86400)
            previous = moment

    def figures(self) -> _Figures:
        medians = tuple(median(days) if days else None for days in self.days)
        return _Figures(entered=self.entered, reached=tuple(self.reached), median_days=medians)


def _reached(row: tuple) -> list[datetime | None]:
    """The steps' times, each the earliest of its own and the later ones' (already so in SQL for
    the stage changes; a rep's acceptance joins in for the first step)."""
    _, accepted_by_rep, *reached = row[: 2 + len(STEPS)]
    if accepted_by_rep is not None and (reached[0] is None or accepted_by_rep < reached[0]):
        reached[0] = accepted_by_rep
    return reached


def _group_label(by: str, key, label, version_names: dict[int, str]) -> str:
    if key is None:
        return NO_VALUE_LABELS[by]
    if by == Dimension.CAMPAIGN_TYPE:
        return CampaignType(key).label if key in CampaignType.values else key
    if by == Dimension.SEGMENT:
        return Segment(key).label if key in Segment.values else key
    if by == Dimension.RULE_VERSION:
        return version_names.get(key, f"Version #{key} (deleted)")
    return label


def _version_id(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _grouped_portable(query: ConversionQuery) -> _Grouped:
    """The twin of the PostgreSQL statement (SQLite has no percentile): one row per lead, tallied here."""
    by = Dimension(query.by)
    total, per_cohort = _Tally(), defaultdict(_Tally)
    groups: dict[object, _Tally] = defaultdict(_Tally)
    labels: dict[object, str | None] = {}
    offset = 2 + len(STEPS)
    zone = timezone.get_current_timezone()
    for row in _entries(query).iterator(chunk_size=2000):
        entered_at, reached = row[0], _reached(row)
        cohort = cohort_key(entered_at, query.period, zone)
        if by == Dimension.COHORT:
            key, label = cohort, None
        else:
            key = row[offset]
            key = _version_id(key) if by == Dimension.RULE_VERSION else key
            label = row[offset + 1] if len(row) > offset + 1 else None
        total.add(entered_at, reached)
        per_cohort[cohort].add(entered_at, reached)
        groups[key].add(entered_at, reached)
        labels[key] = label
    return _Grouped(
        groups={key: (tally.figures(), labels[key]) for key, tally in groups.items()},
        cohorts={key: tally.figures() for key, tally in per_cohort.items()},
        total=total.figures(),
    )


def _grouped_postgresql(query: ConversionQuery) -> _Grouped:
    start_at, end_at = _range(query)
    rows = funnel_rows_postgresql(
        funnel=query.funnel,
        by=query.by,
        period=query.period,
        start_at=start_at,
        end_at=end_at,
        zone=timezone.get_current_timezone_name(),
    )
    groups, cohorts, total = {}, {}, _Figures()
    for grouping, key, label, cohort, entered, *steps in rows:
        figures = _Figures(entered=entered, reached=tuple(steps[: len(STEPS)]), median_days=tuple(steps[len(STEPS) :]))
        if grouping == TOTAL:
            total = figures
        elif grouping == COHORT:
            cohorts[_cohort_key_of_day(cohort.date(), query.period)] = figures
        else:
            groups[key] = (figures, label)
    return _Grouped(groups=groups, cohorts=cohorts, total=total)


def conversion_get(query: ConversionQuery) -> Conversion:
    """Two queries whatever the number of leads: the funnel's figures (per group, per cohort and
    in all, aggregated in PostgreSQL; one row per lead on SQLite), and the rule versions' names."""
    by = Dimension(query.by)
    cohorts = _cohorts(query)
    grouped = _grouped_postgresql(query) if is_postgresql() else _grouped_portable(query)
    version_names = {}
    if by == Dimension.RULE_VERSION and any(key is not None for key in grouped.groups):
        version_names = {
            version.id: f"v{version.number} {version.name}"
            for version in RuleVersion.objects.filter(id__in=[key for key in grouped.groups if key is not None])
        }
    cohort_rows = tuple(grouped.cohorts.get(key, _Figures()).row(key, label) for key, label in cohorts.items())
    if by == Dimension.COHORT:
        rows = cohort_rows
    else:
        unsorted = [
            figures.row(None if key is None else str(key), _group_label(by, key, label, version_names))
            for key, (figures, label) in grouped.groups.items()
        ]
        # Biggest first; the leads with no value at the end, whatever their number.
        rows = tuple(sorted(unsorted, key=lambda row: (row.key is None, -row.entered, row.label)))
    return Conversion(
        query=query,
        entry_label=Funnel(query.funnel).label,
        dimension_label=by.label,
        rows=rows,
        total=grouped.total.row(None, "All"),
        cohorts=cohort_rows,
    )
