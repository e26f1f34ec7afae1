"""Thin tasks: take ids, call a service. Idempotent, so redelivery is harmless (services/backtest.py)."""

from celery import shared_task

from insights.services import backtest as backtests
from insights.services import reports


@shared_task(acks_late=True, reject_on_worker_lost=True)
def backtest_step_task(run_id: int, step: int, budget_seconds: float | None = None) -> int:
    """Steps of a backtest from `step` on, for a bounded time; the service enqueues the rest."""
    try:
        return backtests.backtest_advance(run_id=run_id, step=step, budget_seconds=budget_seconds)
    except Exception as error:
        # Not a transient failure to retry: the same step would raise again. The run says why.
        backtests.backtest_fail(run_id=run_id, error=f"Step {step}: {type(error).__name__}: {error}")
        raise


@shared_task
def backtests_resume_stalled_task() -> int:
    return backtests.backtests_resume_stalled()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def insight_report_task(report_id: int) -> bool:
    """Compute a stored calibration or what-precedes report (claimed once: redelivery is harmless)."""
    return reports.report_compute(report_id=report_id)


@shared_task
def insight_reports_resume_stalled_task() -> int:
    return reports.reports_resume_stalled()
