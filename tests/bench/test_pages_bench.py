"""The page bench at tiny scale: `bench/run.py --only pages` builds and scores a world, gives it reps with
queues, and prints each page's server time."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--rescore-leads", "300", "--rescore-events", "3000"]
TINY += ["--page-reps", "4", "--page-open", "8", "--page-history", "4", "--page-requests", "5", "--page-warmup", "1"]


def _bench(*args: str) -> dict[str, str]:
    # Its own database, named after the suite's, and the suite's Redis database (the bench flushes it).
    database = os.environ.get("TEST_DATABASE_NAME", "test_qualify") + "_pages_bench"
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12")
    command = [sys.executable, "bench/run.py", "--only", "pages", "--database", database, "--redis-url", redis_url]
    finished = subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert finished.returncode == 0, finished.stderr
    return dict(line.split(": ", 1) for line in finished.stdout.splitlines() if ": " in line)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.slow
def test_it_times_the_queue_the_lead_workspace_and_the_board_on_a_scored_world(tmp_path):
    # when
    figures = _bench(*TINY, "--results", str(tmp_path / "built.txt"))

    # then the world was scored before the pages were timed
    assert figures["full_rescore_finished"] == "yes"
    assert figures["pages_reps"] == "4"
    assert int(figures["pages_open_assignments"]) == 4 * 8
    for page in ("queue_page", "lead_page", "manager_board"):
        assert 0 < float(figures[f"{page}_p50_ms"]) <= float(figures[f"{page}_p95_ms"])
        assert figures[f"{page}_requests"] == "5"
        assert int(figures[f"{page}_queries"]) > 0

    # and a second run reuses the world it left
    again = _bench(*TINY, "--reuse-world", "--results", str(tmp_path / "reused.txt"))
    assert "full_rescore_seconds" not in again
    assert int(again["pages_world_leads"]) >= int(figures["full_rescore_leads"])
    assert float(again["queue_page_p95_ms"]) > 0
