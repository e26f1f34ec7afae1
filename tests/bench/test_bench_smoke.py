"""The bench harness at tiny scale: it runs the real stack and prints its figures."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ("ingest_http_events_per_s", "processed_events_per_s_per_worker", "postgres_copy_rows_per_s")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.slow
def test_it_measures_ingest_processing_and_copy_and_prints_each_figure(tmp_path):
    # given
    results = tmp_path / "latest.txt"
    command = [sys.executable, "bench/run.py", "--events", "2000", "--clients", "2", "--web-workers", "1"]
    command += ["--database", "test_qualify_d_bench", "--redis-url", "redis://127.0.0.1:6379/14"]

    # when
    finished = subprocess.run(
        [*command, "--results", str(results)], cwd=ROOT, capture_output=True, text=True, timeout=180
    )

    # then
    assert finished.returncode == 0, finished.stderr
    figures = dict(line.split(": ", 1) for line in finished.stdout.splitlines() if ": " in line)
    assert all(float(figures[name]) > 0 for name in FIGURES)
    assert figures["ingest_events_persisted"] == "2000" and figures["processing_left_unprocessed"] == "0"
    assert "ingest_vs_copy_ratio" in figures and "processed_vs_copy_ratio" in figures
    assert results.read_text().count("\n") > len(FIGURES)
