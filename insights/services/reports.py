"""Stored reports: calibration and what precedes buying, computed by a task and kept.

A calibration rescores every candidate twice as of past dates (about a minute at 100k leads) and
what precedes buying reads every event of a window (seconds): too slow for a request. A page or
the API asks for a report with `report_request`; the first request for a set of parameters
creates its row and enqueues `insights.tasks.insight_report_task` on commit, later ones join it
while it is queued or running and read it once it is done.

One row per kind and parameters (a unique constraint on the hash of the normalised parameters):
two requests racing to create it meet on the constraint and share one row. The task claims the
row once (queued -> running, under `select_for_update(skip_locked=True)` and a status guard),
computes outside any transaction, and records once (running -> done, guarded by the claim's
`started_at`): a redelivered task, or one whose report was re-queued meanwhile, records nothing.

Fresh: a finished report (done or failed) is served as it is while it is younger than
FRESH_FOR (6 hours) AND its watermark still matches: no outcome added or edited since (outcomes
label every past snapshot and make the buyers), and for a draft version the same rules. New
events are left out of the watermark on purpose: they arrive all the time and belong after the
as-of date of a calibration; the ones that matter (late, back-dated, or in the window of a
what-precedes cut-off of today) are caught by the age limit. A stale report is recomputed in
place; marketing ops and admins can force that with `report_recompute`.

A queued or running report that stopped moving (broker down at enqueue, a worker lost) is
re-queued by the periodic sweep `reports_resume_stalled`, as backtests are.
"""

import hashlib
import json
import logging
from datetime import date, datetime, timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from insights.models import BacktestStatus as Status
from insights.models import InsightReport, ReportKind
from insights.selectors.calibration import calibration_get, start_of_day
from insights.selectors.precedes import precedes_report
from leads.models import Outcome
from qualify_site.enqueue import enqueue_on_commit
from scoring.models import RuleVersion, VersionStatus
from scoring.selectors import rule_version_compiled

logger = logging.getLogger(__name__)

TASK = "insights.tasks.insight_report_task"
RECOVERED_BY = "the stalled-report sweep (insights.tasks.insight_reports_resume_stalled_task)"
FRESH_FOR = timedelta(hours=6)
# A report queued or running for longer than this lost its task: the hard time limit is 5 minutes.
STALLED_AFTER = timedelta(minutes=10)
ACTIVE = (Status.QUEUED, Status.RUNNING)


def calibration_params(
    *,
    version: RuleVersion,
    as_of: date,
    horizon: int,
    unit: str,
    capacity: int | None,
    objective: str,
    positive: str,
) -> dict:
    """The calibration's parameters as stored (named as the page's form and the API take them)."""
    return {
        "version": version.id,
        "unit": unit,
        "as_of": as_of.isoformat(),
        "horizon": horizon,
        "capacity": capacity,
        "objective": objective,
        "positive": positive,
    }


def precedes_params(*, before: date, window: int, unit: str, positive: str) -> dict:
    return {"before": before.isoformat(), "window": window, "unit": unit, "positive": positive}


def report_params_hash(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def report_watermark(*, kind: str, params: dict) -> dict:
    """What the data looked like for these parameters (see the module for what is left out)."""
    latest = Outcome.objects.aggregate(id=Max("id"), updated_at=Max("updated_at"))
    watermark = {
        "outcome_id": latest["id"],
        "outcome_updated_at": latest["updated_at"].isoformat() if latest["updated_at"] else None,
    }
    if kind == ReportKind.CALIBRATION:
        version = RuleVersion.objects.filter(id=params["version"]).first()
        # A published or archived version's rules are frozen; a draft's may be edited.
        if version is not None and version.status == VersionStatus.DRAFT:
            watermark["version_hash"] = rule_version_compiled(version).content_hash
    return watermark


def report_is_fresh(report: InsightReport, *, watermark: dict, now: datetime) -> bool:
    return (
        report.is_finished
        and report.finished_at is not None
        and report.finished_at >= now - FRESH_FOR
        and report.watermark == watermark
    )


def report_request(*, kind: str, params: dict, user=None, now: datetime | None = None) -> InsightReport:
    """The report for these parameters: the stored one when it is fresh or being computed, else a
    computation queued (on commit) in the one row kept for them."""
    now = now or timezone.now()
    params_hash = report_params_hash(params)
    watermark = report_watermark(kind=kind, params=params)
    rows = InsightReport.objects.select_related("version")
    report = rows.filter(kind=kind, params_hash=params_hash).first()
    if report is None:
        try:
            with transaction.atomic():
                report = InsightReport.objects.create(
                    kind=kind,
                    params=params,
                    params_hash=params_hash,
                    version_id=params.get("version"),
                    watermark=watermark,
                    requested_by=user,
                    requested_at=now,
                )
        except IntegrityError:
            # Another request created it between our read and our insert: join theirs.
            return rows.get(kind=kind, params_hash=params_hash)
        enqueue_on_commit(TASK, report.id, recovered_by=RECOVERED_BY)
        return report
    if report.status in ACTIVE or report_is_fresh(report, watermark=watermark, now=now):
        return report
    return _requeue(report, watermark=watermark, user=user, now=now)


def report_recompute(*, report_id: int, user=None, now: datetime | None = None) -> InsightReport:
    """Compute the report again whatever its age (unless it is being computed: then join that)."""
    now = now or timezone.now()
    report = InsightReport.objects.select_related("version").get(id=report_id)
    if report.status in ACTIVE:
        return report
    return _requeue(report, watermark=report_watermark(kind=report.kind, params=report.params), user=user, now=now)


def _requeue(report: InsightReport, *, watermark: dict, user, now: datetime) -> InsightReport:
    """Queue the finished report again, once: a concurrent request that re-queued it first wins."""
    same = InsightReport.objects.filter(id=report.id, status=report.status, requested_at=report.requested_at)
    requeued = same.update(
        status=Status.QUEUED,
        watermark=watermark,
        requested_by=user,
        requested_at=now,
        started_at=None,
        finished_at=None,
        error="",
    )
    if requeued:
        enqueue_on_commit(TASK, report.id, recovered_by=RECOVERED_BY)
    report.refresh_from_db()
    return report


def report_compute(*, report_id: int) -> bool:
    """Claim the queued report, compute it and record the results (or the error), once.
    False when there was nothing to claim (done, running elsewhere, or gone)."""
    with transaction.atomic():
        report = (
            InsightReport.objects.select_for_update(skip_locked=True).filter(id=report_id, status=Status.QUEUED).first()
        )
        if report is None:
            return False
        started_at = timezone.now()
        InsightReport.objects.filter(id=report_id, status=Status.QUEUED).update(
            status=Status.RUNNING, started_at=started_at
        )
    try:
        results = _computed(report)
    except Exception as error:  # shown on the page: the figures cannot be had until it is fixed
        logger.exception("Insight report %s (%s) failed", report_id, report.kind)
        _record(report_id, started_at, status=Status.FAILED, error=f"{type(error).__name__}: {error}"[:2000])
        return True
    _record(report_id, started_at, status=Status.DONE, results=results)
    return True


def _record(report_id: int, started_at: datetime, **fields) -> None:
    # Guarded by the claim: a report re-queued by the sweep meanwhile belongs to its new task.
    InsightReport.objects.filter(id=report_id, status=Status.RUNNING, started_at=started_at).update(
        finished_at=timezone.now(), **fields
    )


def _computed(report: InsightReport) -> dict:
    """The report's figures with the existing selectors, as JSON (dates as ISO strings)."""
    params = report.params
    if report.kind == ReportKind.CALIBRATION:
        results = calibration_get(
            version=RuleVersion.objects.get(id=params["version"]),
            as_of=start_of_day(date.fromisoformat(params["as_of"])),
            horizon_days=params["horizon"],
            unit=params["unit"],
            capacity=params["capacity"],
            objective=params["objective"],
            positive=params["positive"],
            now=timezone.now(),
        )
    else:
        results = precedes_report(
            before=start_of_day(date.fromisoformat(params["before"])),
            window_days=params["window"],
            unit=params["unit"],
            positive=params["positive"],
        )
    # No NaN or infinity: PostgreSQL's jsonb refuses them, so they fail here, recorded as the error.
    return json.loads(json.dumps(results, cls=DjangoJSONEncoder, allow_nan=False))


def reports_resume_stalled(*, now: datetime | None = None) -> int:
    """Re-queue each queued or running report that stopped moving, once (conditional UPDATE)."""
    now = now or timezone.now()
    cutoff = now - STALLED_AFTER
    stalled = InsightReport.objects.filter(
        Q(status=Status.QUEUED, requested_at__lt=cutoff) | Q(status=Status.RUNNING, started_at__lt=cutoff)
    )
    resumed = 0
    for report_id, status, requested_at in stalled.values_list("id", "status", "requested_at")[:50]:
        claimed = InsightReport.objects.filter(id=report_id, status=status, requested_at=requested_at).update(
            status=Status.QUEUED, requested_at=now, started_at=None
        )
        if claimed:
            logger.warning("Insight report %s stalled (%s): queued again", report_id, status)
            enqueue_on_commit(TASK, report_id, recovered_by=RECOVERED_BY)
            resumed += 1
    return resumed
