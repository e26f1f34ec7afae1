"""Reads for backtests: the points in time, the chunks, one step's rows, and "last validated".

A backtest replays a rule version as of each point in time (from_date, then every step_days,
up to to_date), chunk by chunk of candidates, beside the version that was live when it started.
A step's rows come from `snapshots_scored`: each chunk's facts are read once for both versions,
and only what was known before the point is read, so "would have qualified on date D" is honest.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Max, Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from insights.models import BacktestRun, BacktestStatus, BacktestUnit, PositiveKind
from insights.selectors.capacity import team_capacity
from insights.selectors.snapshot import Candidate, snapshots_scored
from leads.models import Lead, OutcomeKind
from scoring.models import RuleVersion, VersionStatus
from scoring.selectors import rule_version_live

LEAD_CHUNK = 1000
ACCOUNT_CHUNK = 250  # an account brings its leads: a few per account, a chunk of about a thousand
DEFAULT_HORIZON_DAYS = 90
# Three monthly points: a quarter, as validation is. Each point costs about as much as scoring
# every lead twice (both versions); more points are a choice on the start form.
DEFAULT_STEP_DAYS = 30
DEFAULT_POINTS = 3
# A quarter: "validate thresholds quarterly against what converted" (seeds).
VALIDATION_MAX_AGE = timedelta(days=90)

# Outcome kinds as stored in a step's rows (short: a run keeps one row per candidate per point).
KIND_CODES = {
    OutcomeKind.MEETING: "m",
    OutcomeKind.OPPORTUNITY: "o",
    OutcomeKind.CLOSED_WON: "w",
    OutcomeKind.CLOSED_LOST: "l",
}
# What counts as converted for each choice: a deal won, lost or open had an opportunity, and so on.
POSITIVE_KINDS = {
    PositiveKind.WON: (OutcomeKind.CLOSED_WON,),
    PositiveKind.OPPORTUNITY: (OutcomeKind.OPPORTUNITY, OutcomeKind.CLOSED_WON, OutcomeKind.CLOSED_LOST),
    PositiveKind.MEETING: tuple(OutcomeKind.values),
}
POSITIVE_CODES = {name: frozenset(KIND_CODES[kind] for kind in kinds) for name, kinds in POSITIVE_KINDS.items()}


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def backtest_points(*, from_date: date, to_date: date, step_days: int) -> list[datetime]:
    """The moments the version is replayed at: midnight UTC of from_date, every step_days, up to to_date."""
    points, day = [], from_date
    while day <= to_date:
        points.append(day_start(day))
        day += timedelta(days=step_days)
    return points


def backtest_run_points(run: BacktestRun) -> list[datetime]:
    return backtest_points(from_date=run.from_date, to_date=run.to_date, step_days=run.step_days)


def backtest_chunks(*, unit: str) -> list[list[int]]:
    """Id ranges [first, last] of the candidates' units (leads, or accounts with leads), for the steps."""
    if unit == BacktestUnit.ACCOUNT:
        ids = Lead.objects.filter(merged_into__isnull=True, account__isnull=False).values_list("account_id", flat=True)
        ids, size = sorted(set(ids)), ACCOUNT_CHUNK
    else:
        ids, size = (
            list(Lead.objects.filter(merged_into__isnull=True).order_by("id").values_list("id", flat=True)),
            LEAD_CHUNK,
        )
    return [[ids[start], ids[min(start + size, len(ids)) - 1]] for start in range(0, len(ids), size)]


@dataclass(frozen=True)
class BacktestDefaults:
    from_date: date
    to_date: date
    step_days: int
    horizon_days: int
    capacity: int


def backtest_defaults(*, today: date | None = None, unit: str = BacktestUnit.LEAD) -> BacktestDefaults:
    """Monthly points over the quarter before the last fully labelled day (today less the
    horizon), moved up to the first lead seen when history is younger than that."""
    today = today or timezone.now().date()
    to_date = today - timedelta(days=DEFAULT_HORIZON_DAYS)
    from_date = to_date - timedelta(days=DEFAULT_STEP_DAYS * (DEFAULT_POINTS - 1))
    first_seen = Lead.objects.aggregate(first=Min(Coalesce("first_seen_at", "created_at")))["first"]
    if first_seen is not None and first_seen.date() + timedelta(days=1) > from_date:
        from_date = first_seen.date() + timedelta(days=1)
        to_date = max(to_date, min(today, from_date + timedelta(days=DEFAULT_STEP_DAYS * (DEFAULT_POINTS - 1))))
    capacity = team_capacity(period_days=DEFAULT_STEP_DAYS, unit=unit) or 100
    return BacktestDefaults(from_date, to_date, DEFAULT_STEP_DAYS, DEFAULT_HORIZON_DAYS, capacity)


def _summary(candidate: Candidate) -> dict:
    return {
        "total": candidate.total,
        "fit": candidate.fit,
        "engagement": candidate.engagement,
        "grade": candidate.grade,
        "is_hot": candidate.is_hot,
        "is_mql": candidate.is_mql,
        "pql_path": candidate.pql_path,
    }


def backtest_step_rows(*, run: BacktestRun, step: int) -> tuple[int, list[list]]:
    """(point index, rows) of one step: each candidate of the step's chunk as of its point,
    scored by the run's version and the compared one. Reads only."""
    chunk_count = len(run.chunks)
    point, chunk = divmod(step, chunk_count)
    first, last = run.chunks[chunk]
    as_of = backtest_run_points(run)[point]
    leads = Lead.objects.filter(merged_into__isnull=True)
    if run.unit == BacktestUnit.ACCOUNT:
        leads = leads.filter(account_id__gte=first, account_id__lte=last)
    else:
        leads = leads.filter(id__gte=first, id__lte=last)
    lead_ids = list(leads.order_by("id").values_list("id", flat=True))
    versions = [run.version]
    if run.compared_version_id and run.compared_version_id != run.version_id:
        versions.append(run.compared_version)
    snapshots = snapshots_scored(
        versions=versions, as_of=as_of, horizon_days=run.horizon_days, unit=run.unit, lead_ids=lead_ids
    )
    ours = snapshots[0].candidates
    theirs = snapshots[-1].candidates if run.compared_version_id else [None] * len(ours)
    return point, [_row(candidate, compared) for candidate, compared in zip(ours, theirs, strict=True)]


def _row(candidate: Candidate, compared: Candidate | None) -> list:
    kinds = "".join(sorted(KIND_CODES[kind] for kind in candidate.outcomes if kind in KIND_CODES))
    row = [
        candidate.id,
        candidate.total,
        int(candidate.is_qualified),
        compared.total if compared else None,
        int(compared.is_qualified) if compared else 0,
        kinds,
    ]
    is_compared_qualified = compared is not None and compared.is_qualified
    if candidate.is_qualified or is_compared_qualified:
        # Who qualified is listed by address; where the versions disagree, with both scores.
        row.append({"key": candidate.key})
        if compared is not None and candidate.is_qualified != compared.is_qualified:
            row[6].update(version=_summary(candidate), compared=_summary(compared))
    return row


def is_positive(kinds: str, positive: str) -> bool:
    return not POSITIVE_CODES[positive].isdisjoint(kinds)


# --- Last validated ---------------------------------------------------------------------------


def version_last_validated(*, version_id: int) -> datetime | None:
    """When the version's latest backtest finished (None: never validated)."""
    return BacktestRun.objects.filter(version_id=version_id, status=BacktestStatus.DONE).aggregate(
        last=Max("finished_at")
    )["last"]


def versions_last_validated(*, version_ids: Sequence[int]) -> dict[int, datetime]:
    rows = (
        BacktestRun.objects.filter(version_id__in=version_ids, status=BacktestStatus.DONE)
        .values("version_id")
        .annotate(last=Max("finished_at"))
    )
    return {row["version_id"]: row["last"] for row in rows}


@dataclass(frozen=True)
class ValidationFlag:
    """The live version has not been backtested within VALIDATION_MAX_AGE."""

    version: RuleVersion
    last_validated: datetime | None
    days_since: int | None


def version_validation_flag(*, now: datetime | None = None) -> ValidationFlag | None:
    """The flag for the published version when it was never validated, or not for 90 days; else None."""
    now = now or timezone.now()
    live = rule_version_live()
    if live is None or live.status != VersionStatus.PUBLISHED:
        return None
    last = version_last_validated(version_id=live.id)
    if last is not None and last > now - VALIDATION_MAX_AGE:
        return None
    return ValidationFlag(live, last, (now - last).days if last else None)


def backtest_runs_for_version(*, version_id: int, limit: int = 20) -> list[BacktestRun]:
    return list(
        BacktestRun.objects.filter(version_id=version_id)
        .select_related("version", "compared_version", "requested_by")
        .order_by("-created_at", "-id")[:limit]
    )
