"""A backtest run by a real Celery worker: the steps chained through the broker, one per task."""

from datetime import UTC, date, datetime

import pytest

from insights.models import BacktestRun, BacktestStatus
from insights.services.backtest import backtest_start
from qualify_site.celery import app as celery_app
from tests.insights.history import days, demo_only_version, lead, outcome, track
from tests.worker_utils import celery_worker, tasks_routed_to_own_queue, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FIRST = datetime(2026, 3, 1, tzinfo=UTC)
DEFAULT_QUEUE = celery_app.conf.task_default_queue


def test_a_worker_runs_the_chain_of_steps_to_the_end(monkeypatch):
    # given three leads in chunks of one (3 chunks × 2 points = 6 steps), one step per task
    # (a budget of no time: each task hands on to the next through the broker)
    for name in ("ada", "ben", "cleo"):
        person = lead(f"{name}@acme.example", seen=FIRST - days(20))
        if name != "ben":
            track(person, "Demo Requested", FIRST - days(2))
    outcome("closed_won", FIRST + days(5), person=person)  # cleo won
    monkeypatch.setattr("insights.selectors.backtest.LEAD_CHUNK", 1)
    version = demo_only_version()

    # The first step goes to this test's queue; the worker publishes the next ones by its own
    # (default) routes, to the default queue of this run's Redis database: it reads both.
    with tasks_routed_to_own_queue(["insights.tasks.*"]) as queue, celery_worker(queue=f"{queue},{DEFAULT_QUEUE}"):
        # when a backtest starts (committed: the first step is published on commit)
        run = backtest_start(
            version_id=version.id,
            from_date=date(2026, 3, 1),
            to_date=date(2026, 3, 8),
            step_days=7,
            horizon_days=30,
            capacity=1,
            budget_seconds=0,
        )

        # then the worker goes through every step and finishes the run
        wait_until(
            lambda: BacktestRun.objects.filter(id=run.id, status=BacktestStatus.DONE).exists(),
            timeout=90,
            message="the backtest to finish",
        )
    run.refresh_from_db()
    assert run.steps_done == run.steps_total == 6
    # cleo won on 6 March: no longer a candidate on the 8th
    assert [point["candidates"] for point in run.results["per_point"]] == [3, 2]
    assert run.results["version"]["qualified"] == 2
