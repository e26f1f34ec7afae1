"""The bench harness at tiny scale: it runs the real stack and prints its figures."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURES = (
    "ingest_http_events_per_s",
    "postgres_copy_rows_per_s",
    "processed_events_per_s_per_worker_identity_only",
    "processed_events_per_s_per_worker",
    "scoring_cost_ratio",
    "full_rescore_leads_per_s",
)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.slow
def test_it_measures_ingest_processing_scoring_and_a_full_rescore_and_prints_each_figure(tmp_path):
    # given
    results = tmp_path / "latest.txt"
    # Its own database, named after the suite's, so parallel suites do not collide.
    database = os.environ.get("TEST_DATABASE_NAME", "test_qualify") + "_bench"
    command = [sys.executable, "bench/run.py", "--events", "2000", "--clients", "2", "--web-workers", "1"]
    command += ["--rescore-leads", "300", "--rescore-events", "3000", "--routing-leads", "100", "--load-seconds", "4"]
    command += ["--page-reps", "3", "--page-open", "6", "--page-history", "2", "--page-requests", "3"]
    command += ["--insights-capacity", "30"]
    command += ["--database", database, "--redis-url", "redis://127.0.0.1:6379/13"]

    # when
    process = subprocess.Popen(
        [*command, "--results", str(results)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        stdout, stderr = process.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        # SIGTERM, not SIGKILL: the harness then stops the workers it started.
        process.terminate()
        stdout, stderr = process.communicate(timeout=30)

    # then
    assert process.returncode == 0, stderr
    figures = dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)
    assert all(float(figures[name]) > 0 for name in FIGURES)
    assert figures["ingest_events_persisted"] == "2000"
    assert figures["processing_identity_only_left_unprocessed"] == "0"
    assert figures["processing_with_scoring_left_unprocessed"] == "0"
    assert figures["processing_with_scoring_leads_left_unscored"] == "0"
    assert figures["processing_identity_only_leads_scored"] == "0"
    assert figures["full_rescore_finished"] == "yes"
    assert figures["full_rescore_leads_scored"] == figures["full_rescore_leads"]
    assert int(figures["full_rescore_leads"]) >= 300 and int(figures["full_rescore_events"]) >= 3000
    assert float(figures["queue_page_p95_ms"]) > 0 and float(figures["lead_page_p95_ms"]) > 0
    assert "manager_board_p95_ms" in figures
    # the backtest and the suggestion ran as operators run them (a tiny world may be too young to learn from)
    assert float(figures["backtest_seconds"]) > 0 and int(figures["backtest_candidates"]) > 0
    assert float(figures["suggest_version_seconds"]) > 0
    assert "backtest_suggested_precision_at_capacity" in figures or "suggest_version_refused" in figures
    assert results.read_text().count("\n") > len(FIGURES)
