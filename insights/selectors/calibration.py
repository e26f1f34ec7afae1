"""How well a rule version's scores predicted what converted: the calibration report.

One snapshot (`insights.selectors.snapshot`: every candidate scored as of a moment with only what
was known then, labelled by the outcomes of the horizon after) read every way a revenue analyst
would check a threshold: the score distribution of the converted and the rest, conversion by
score band (deciles) with lift, precision and recall of the MQL threshold and of each PQL path,
precision and recall at the team's capacity, and a suggested threshold.

Scores as probabilities. Points are not probabilities, so the report reads them through a
logistic curve (Platt scaling, `insights.engine.calibration.platt_fit`) fitted on the EARLIER
snapshot: the same version as of `as_of - horizon`, labelled by the outcomes of the horizon
before `as_of`, all known at `as_of`. The Brier score and reliability bins of this snapshot are
then out of sample. When the earlier snapshot has too few of either class to fit a curve, the
report says so and shows no probabilities rather than fitting on the rows it measures.

The suggested threshold is chosen on this snapshot's own rows (in sample, so its figures flatter
it) and is never applied: it is a number to try in a draft and backtest on a later date.

What "converted" means (`POSITIVE_KINDS`): "won" is a closed-won outcome within the horizon;
"opportunity" is reaching an opportunity, so a closed deal, won or lost, counts too (it was one).
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from insights.engine.calibration import platt_apply, platt_fit, score_histogram
from insights.engine.measures import Scored, at_capacity, at_threshold, brier_score, reliability, score_bands
from insights.engine.measures import suggest_threshold as threshold_suggestion
from insights.engine.stats import Rate
from insights.selectors.capacity import team_capacity_explained
from insights.selectors.snapshot import Candidate, Snapshot, snapshot_scored
from leads.models import OutcomeKind
from scoring.models import RuleVersion
from scoring.selectors import rule_version_compiled

POSITIVE_KINDS = {
    "won": (OutcomeKind.CLOSED_WON,),
    "opportunity": (OutcomeKind.OPPORTUNITY, OutcomeKind.CLOSED_WON, OutcomeKind.CLOSED_LOST),
}
OBJECTIVES = ("f1", "f2", "capacity")
BANDS = 10
# The query's defaults and limits, shared by the API and the page: a horizon of a month, judged as
# of a month ago (so the horizon has passed), the earliest date one that datetime arithmetic and
# any real history stay clear of.
DEFAULT_HORIZON_DAYS = 30
MAX_HORIZON_DAYS = 365
MAX_CAPACITY = 1_000_000
EARLIEST_AS_OF = date(2000, 1, 1)


def report_date_problem(value: date, *, today: date) -> str | None:
    """What is wrong with a report's cut-off date (None: nothing), for the forms and the API alike."""
    if value < EARLIEST_AS_OF or value > today:
        return f"Give a date from {EARLIEST_AS_OF:%Y-%m-%d} to today."
    return None


HISTOGRAM_BINS = 10
RELIABILITY_BINS = 10
READING = (
    "Scores are read as probabilities through a logistic curve (Platt scaling) fitted on the same version's "
    "snapshot one horizon earlier, whose outcomes were all known by this date: the Brier score and the "
    "reliability bins below are measured on other rows than the curve was fitted on."
)


def _rows(candidates: Sequence[Candidate], kinds: Sequence[str], picked=lambda c: c.is_qualified) -> list[Scored]:
    return [
        Scored(id=c.id, score=c.total, is_qualified=bool(picked(c)), is_positive=c.reached(kinds)) for c in candidates
    ]


def _thresholds(candidates: Sequence[Candidate], pql_paths: Sequence[str]) -> list[dict]:
    """The MQL threshold and each PQL path, each measured against won and against opportunity."""
    seen = sorted({path for c in candidates for path in {c.pql_path, *c.pql_paths} if path} - set(pql_paths))
    pickers = [("mql", "MQL threshold", lambda c: c.is_mql)]
    # An account is on a path when any of its leads is.
    pickers += [
        ("pql", name, lambda c, name=name: c.pql_path == name or name in c.pql_paths) for name in [*pql_paths, *seen]
    ]
    pickers.append(("qualified", "Qualified (MQL or any PQL path)", lambda c: c.is_qualified))
    return [
        {
            "kind": kind,
            "name": name,
            "against": {
                label: at_threshold(_rows(candidates, kinds, picked)).to_dict()
                for label, kinds in POSITIVE_KINDS.items()
            },
        }
        for kind, name, picked in pickers
    ]


def _probabilities(rows: list[Scored], earlier: Snapshot | None, positive_kinds: Sequence[str]) -> dict:
    if earlier is None:
        return {"reading": None, "reason": "No earlier snapshot to fit a curve on."}
    curve = platt_fit(earlier.scored(positive_kinds))
    fitted_on = {"as_of": earlier.as_of.isoformat(), "candidates": len(earlier.candidates)}
    if curve is None:
        return {
            "reading": None,
            "fitted_on": fitted_on,
            "reason": "Too few conversions (or non-conversions) in the earlier period to read scores as "
            "probabilities without fitting on the rows measured.",
        }
    probabilities = platt_apply(curve, rows)
    outcomes = [row.is_positive for row in rows]
    earlier_rate = curve.positives / curve.rows
    return {
        "reading": "platt",
        "words": READING,
        "fitted_on": fitted_on,
        "curve": curve.to_dict(),
        "brier": brier_score(probabilities, outcomes),
        # The Brier of saying the earlier base rate to everyone: a score that ranks nothing.
        "brier_reference": brier_score([earlier_rate] * len(rows), outcomes),
        "reliability": [bin.to_dict() for bin in reliability(probabilities, outcomes, RELIABILITY_BINS)],
    }


def _suggestion(rows: list[Scored], objective: str, capacity: int) -> dict | None:
    if objective == "capacity" and not capacity:
        return None  # a team of no one has no capacity to fill
    suggestion = threshold_suggestion(rows, objective=objective, capacity=capacity or None)
    if suggestion is None:
        return None
    return {
        "objective": suggestion.objective,
        "threshold": suggestion.threshold,
        "value": suggestion.value,
        "selection": suggestion.selection.to_dict(),
        "in_sample": True,
        "words": f"Qualifying at a total of {suggestion.threshold:g} or more would have maximised "
        f"{objective.upper() if objective != 'capacity' else 'the work done at capacity'} on these candidates. "
        "Chosen and measured on the same rows: try it in a draft and backtest it on a later date.",
    }


def calibration_report(
    snapshot: Snapshot,
    *,
    capacity: int,
    positive_kinds: Sequence[str],
    objective: str = "f1",
    earlier: Snapshot | None = None,
    pql_paths: Sequence[str] = (),
) -> dict:
    """The snapshot read every way (see the module): a JSON-ready dict."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}")
    rows = _rows(snapshot.candidates, positive_kinds)
    positives = sum(row.is_positive for row in rows)
    return {
        "version_id": snapshot.version_id,
        "unit": snapshot.unit,
        "as_of": snapshot.as_of.isoformat(),
        "horizon_days": snapshot.horizon_days,
        "positive_kinds": list(positive_kinds),
        "candidates": len(rows),
        "positives": positives,
        "outcomes_after": snapshot.outcomes_after,
        "labels_complete": snapshot.labels_complete,
        "is_measurable": snapshot.outcomes_after > 0,
        "base_rate": Rate(positives, len(rows)).to_dict(),
        "distribution": [bin.to_dict() for bin in score_histogram(rows, HISTOGRAM_BINS)],
        "bands": [band.to_dict() for band in score_bands(rows, BANDS)],
        "thresholds": _thresholds(snapshot.candidates, pql_paths),
        "capacity": capacity,
        "at_capacity": at_capacity(rows, capacity).to_dict(),
        "probabilities": _probabilities(rows, earlier, positive_kinds),
        "suggestion": _suggestion(rows, objective, capacity),
    }


def calibration_get(
    *,
    version: RuleVersion,
    as_of: datetime,
    horizon_days: int,
    unit: str = "lead",
    capacity: int | None = None,
    objective: str = "f1",
    positive: str = "won",
    now: datetime | None = None,
) -> dict:
    """The report for `version` as of `as_of`: two snapshots (this one and the one a horizon earlier,
    for the probability curve) and the team's capacity over the horizon unless `capacity` is given."""
    kinds = POSITIVE_KINDS[positive]
    snapshot = snapshot_scored(version=version, as_of=as_of, horizon_days=horizon_days, unit=unit, now=now)
    earlier = snapshot_scored(
        version=version, as_of=as_of - timedelta(days=horizon_days), horizon_days=horizon_days, unit=unit, now=now
    )
    team = team_capacity_explained(period_days=horizon_days, unit=unit, now=now)
    paths = [path.name for path in rule_version_compiled(version).pql_paths]
    report = calibration_report(
        snapshot,
        capacity=capacity if capacity is not None else team.capacity,
        positive_kinds=kinds,
        objective=objective,
        earlier=earlier,
        pql_paths=paths,
    )
    report["positive"] = positive
    report["objective"] = objective
    report["team_capacity"] = team.to_dict()
    report["capacity_source"] = "given" if capacity is not None else "team"
    return report


def default_as_of(today: date, horizon_days: int) -> date:
    """A horizon before today: the latest date whose horizon has fully passed."""
    return today - timedelta(days=horizon_days)


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
