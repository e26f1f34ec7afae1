"""The test runner must fail loudly, not skip silently, when CI requires the services."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(env_overrides: dict, *flags: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_overrides}
    return subprocess.run(
        [sys.executable, "scripts/run_tests.py", *flags, "--collect-only", "-q", "tests/qualify_site/test_health.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_fails_when_a_required_service_is_unreachable():
    # given a Redis URL where nothing listens, and services required
    result = _run({"REDIS_URL": "redis://127.0.0.1:1/0", "QUALIFY_REQUIRE_SERVICES": "1"})

    # then it refuses to run and says why
    assert result.returncode == 2
    assert "Redis is required" in result.stderr


def test_it_says_which_service_is_missing_when_not_required():
    result = _run({"REDIS_URL": "redis://127.0.0.1:1/0", "QUALIFY_REQUIRE_SERVICES": "0"})

    assert result.returncode == 0, result.stderr
    assert "tests that need it are SKIPPED" in result.stderr


def test_the_sqlite_pass_runs_on_sqlite_even_when_postgresql_is_required_and_reachable():
    # given CI's settings: services required, PostgreSQL named
    result = _run(
        {"QUALIFY_REQUIRE_SERVICES": "1", "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres"},
        "--sqlite",
    )

    # then it runs, on SQLite, and says the postgres-marked tests are skipped
    assert result.returncode == 0, result.stderr
    assert "database=SQLite" in result.stdout
    assert "tests marked postgres are SKIPPED" in result.stderr
