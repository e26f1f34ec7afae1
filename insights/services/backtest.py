"""Backtests: start one, record its steps once each, finish it, resume it when it stalls.

A run is a chain of steps (one point in time × one chunk of candidates, selectors/backtest.py).
Each task runs steps until its time budget is spent, then enqueues the next step on commit.
A step is claimed and recorded in one transaction: the run's `steps_done` moves from `step` to
`step + 1` with a conditional UPDATE and the step's rows are stored beside it; a redelivered or
duplicated step finds `steps_done` moved on and records nothing, and only the task that
recorded a step goes on to the next, so a duplicate chain dies out at once. The step after the
last sums the parts into `results`, once (`status` moves from running to done conditionally).
A run whose steps stop moving (broker down at enqueue, a worker lost) is resumed by the
periodic sweep (`backtest_stalled_claim`), as scoring resumes a stalled rescore.
"""

import logging
import time
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from insights.models import BacktestPart, BacktestRun, BacktestStatus, BacktestUnit, PositiveKind
from insights.selectors.backtest import backtest_chunks, backtest_points, backtest_step_rows
from insights.selectors.backtest_results import backtest_results
from qualify_site.enqueue import enqueue_on_commit
from scoring.models import RuleVersion
from scoring.selectors import rule_version_compiled, rule_version_live

logger = logging.getLogger(__name__)

STEP_TASK = "insights.tasks.backtest_step_task"
RECOVERED_BY = "the stalled-backtest sweep (insights.tasks.backtests_resume_stalled_task)"
# A task runs steps for about this long, then hands on to the next task: well inside the
# soft time limit (240 s), and other work queued behind a long backtest gets a turn.
STEP_BUDGET_SECONDS = 20.0
# A run whose last step is older than this lost its task (or waits behind a long backlog,
# where resuming costs a little duplicate work and nothing else).
STALLED_AFTER = timedelta(minutes=10)
MAX_POINTS = 60
ACTIVE = (BacktestStatus.QUEUED, BacktestStatus.RUNNING)


def backtest_check(
    *, from_date: date, to_date: date, step_days: int, horizon_days: int, capacity: int, unit: str, positive: str
) -> None:
    """Refuse what cannot run, each problem under its field's name."""
    errors = {}
    if unit not in BacktestUnit.values:
        errors["unit"] = f"Unit must be one of {', '.join(BacktestUnit.values)}."
    if positive not in PositiveKind.values:
        errors["positive"] = f"Converted must be one of {', '.join(PositiveKind.values)}."
    if step_days < 1:
        errors["step_days"] = "The step must be at least one day."
    if horizon_days < 1:
        errors["horizon_days"] = "The horizon must be at least one day."
    if capacity < 1:
        errors["capacity"] = "Capacity must be at least 1."
    if to_date < from_date:
        errors["to_date"] = "The last point must not come before the first."
    elif (
        step_days >= 1 and len(backtest_points(from_date=from_date, to_date=to_date, step_days=step_days)) > MAX_POINTS
    ):
        errors["step_days"] = f"At most {MAX_POINTS} points in time: take a longer step or a shorter span."
    if to_date > timezone.now().date():
        errors["to_date"] = "The last point cannot be in the future."
    if errors:
        raise ValidationError(errors)


def backtest_start(
    *,
    version_id: int,
    from_date: date,
    to_date: date,
    step_days: int,
    horizon_days: int,
    capacity: int,
    unit: str = BacktestUnit.LEAD,
    positive: str = PositiveKind.WON,
    user=None,
    budget_seconds: float | None = None,
) -> BacktestRun:
    """Queue a backtest of the version (a draft included) beside the live one; it runs on commit.
    `budget_seconds`: how long each of its tasks works before handing on (STEP_BUDGET_SECONDS)."""
    backtest_check(
        from_date=from_date,
        to_date=to_date,
        step_days=step_days,
        horizon_days=horizon_days,
        capacity=capacity,
        unit=unit,
        positive=positive,
    )
    version = RuleVersion.objects.get(id=version_id)
    live = rule_version_live()
    version_hash = rule_version_compiled(version).content_hash
    chunks = backtest_chunks(unit=unit)
    points = backtest_points(from_date=from_date, to_date=to_date, step_days=step_days)
    with transaction.atomic():
        run = BacktestRun.objects.create(
            version=version,
            compared_version=live,
            unit=unit,
            from_date=from_date,
            to_date=to_date,
            step_days=step_days,
            horizon_days=horizon_days,
            capacity=capacity,
            positive=positive,
            version_hash=version_hash,
            chunks=chunks,
            steps_total=len(points) * len(chunks),
            requested_by=user,
            progress_at=timezone.now(),
        )
        enqueue_on_commit(STEP_TASK, run.id, 0, budget_seconds, recovered_by=RECOVERED_BY)
    return run


def backtest_advance(*, run_id: int, step: int, budget_seconds: float | None = None) -> int:
    """Run steps from `step` on for about `budget_seconds`, then enqueue the next (on commit);
    finish the run after its last step. Returns how many steps this call recorded."""
    budget = STEP_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    recorded = 0
    while True:
        run = BacktestRun.objects.select_related("version", "compared_version").filter(id=run_id).first()
        if run is None or run.status not in ACTIVE or run.steps_done != step:
            return recorded  # finished, failed, or this step is someone else's now
        if run.version_hash and rule_version_compiled(run.version).content_hash != run.version_hash:
            backtest_fail(
                run_id=run_id,
                error=f"v{run.version.number} was edited while it was backtested: start a new backtest.",
            )
            return recorded
        if step >= run.steps_total:
            backtest_finish(run=run)
            return recorded
        if not backtest_step_record(run=run, step=step):
            return recorded
        recorded += 1
        step += 1
        if time.monotonic() >= deadline:
            enqueue_on_commit(STEP_TASK, run_id, step, budget_seconds, recovered_by=RECOVERED_BY)
            return recorded


def backtest_step_record(*, run: BacktestRun, step: int) -> bool:
    """Compute one step and record it, unless someone recorded it first (then False)."""
    point, rows = backtest_step_rows(run=run, step=step)
    now = timezone.now()
    with transaction.atomic():
        claimed = BacktestRun.objects.filter(id=run.id, status__in=ACTIVE, steps_done=step).update(
            steps_done=step + 1, status=BacktestStatus.RUNNING, progress_at=now
        )
        if not claimed:
            return False
        if step == 0:
            BacktestRun.objects.filter(id=run.id, started_at__isnull=True).update(started_at=now)
        BacktestPart.objects.create(run=run, step=step, point=point, rows=rows)
    return True


def backtest_finish(*, run: BacktestRun, now: datetime | None = None) -> bool:
    """Sum the parts into the run's results and mark it done, once; the parts go."""
    results = backtest_results(run=run, now=now)
    finished_at = now or timezone.now()
    with transaction.atomic():
        done = BacktestRun.objects.filter(
            id=run.id, status__in=ACTIVE, steps_done=run.steps_total, finished_at__isnull=True
        ).update(status=BacktestStatus.DONE, results=results, finished_at=finished_at, progress_at=finished_at)
        if done:
            BacktestRun.objects.filter(id=run.id, started_at__isnull=True).update(started_at=finished_at)
            BacktestPart.objects.filter(run_id=run.id).delete()
    if done:
        logger.info("Backtest %s of version %s done", run.id, run.version_id)
    return bool(done)


def backtest_fail(*, run_id: int, error: str) -> None:
    """A step raised: the run stops with the reason (starting it again is a new run)."""
    BacktestRun.objects.filter(id=run_id, status__in=ACTIVE).update(
        status=BacktestStatus.FAILED, error=error[:2000], finished_at=timezone.now()
    )
    BacktestPart.objects.filter(run_id=run_id).delete()


def backtest_stalled_claim(*, now: datetime | None = None) -> list[tuple[int, int]]:
    """(run id, next step) of each queued or running backtest that stopped moving, claimed (its
    `progress_at` moved to now) so that one caller resumes it; a resume lost as well is claimed
    again STALLED_AFTER later."""
    now = now or timezone.now()
    stalled = BacktestRun.objects.filter(status__in=ACTIVE, progress_at__lt=now - STALLED_AFTER)
    claimed = []
    for run_id, steps_done, progress_at in stalled.values_list("id", "steps_done", "progress_at")[:50]:
        if BacktestRun.objects.filter(id=run_id, status__in=ACTIVE, progress_at=progress_at).update(progress_at=now):
            claimed.append((run_id, steps_done))
    return claimed


def backtests_resume_stalled(*, now: datetime | None = None) -> int:
    claimed = backtest_stalled_claim(now=now)
    for run_id, step in claimed:
        logger.warning("Backtest %s stalled at step %s: resuming", run_id, step)
        enqueue_on_commit(STEP_TASK, run_id, step, None, recovered_by=RECOVERED_BY)
    return len(claimed)
