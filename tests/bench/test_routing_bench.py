"""The routing bench at tiny scale: it runs the real stack (gunicorn, one Celery worker) and prints its figures."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.slow
def test_it_routes_every_lead_and_times_qualifying_events_to_their_assignments():
    # given its own database, named after the suite's, so parallel suites do not collide
    database = os.environ.get("TEST_DATABASE_NAME", "test_qualify") + "_routing_bench"
    command = [sys.executable, "bench/routing_bench.py", "--database", database]
    # The suite's Redis database (it flushes it): the bench's queues start empty.
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12")
    command += ["--redis-url", redis_url, "--routing-leads", "120"]
    command += ["--load-seconds", "3", "--load-batch", "20", "--qualifying-per-s", "3", "--routing-timeout", "30"]

    # when
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)

    # then
    assert finished.returncode == 0, finished.stderr
    figures = dict(line.split(": ", 1) for line in finished.stdout.splitlines() if ": " in line)
    assert figures["routed_leads_assigned"] == "120"
    assert figures["routed_leads_waiting"] == "0"
    assert float(figures["routed_leads_per_s"]) > 0
    assert {"routed_leads_by_rule", "routed_leads_by_account_rep"} <= set(figures)
    assert int(figures["event_to_assignment_qualifying_leads"]) >= 6
    assert figures["event_to_assignment_assigned"] == figures["event_to_assignment_qualifying_leads"]
    assert 0 < float(figures["event_to_assignment_p50_ms"]) <= float(figures["event_to_assignment_p95_ms"])
    assert int(figures["routing_load_task_events_process_task_count"]) > 0
    assert "event_to_assignment_p95_target_met" in figures
