"""The README's production setup, run for real: honcho starts gunicorn, a Celery
worker and beat from the Procfile against PostgreSQL and Redis, with the
production settings (DEBUG=False, secret from the environment).
"""

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _admin_url() -> str:
    return os.environ["DATABASE_URL"]


@pytest.fixture
def production_env():
    database = f"qualify_prod_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    base = _admin_url().rsplit("/", 1)[0]
    port = _free_port()
    env = {
        **os.environ,
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"{base}/{database}",
        "REDIS_URL": os.environ["REDIS_URL"],
        "CELERY_TASK_ALWAYS_EAGER": "False",
        "ALLOWED_HOSTS": "127.0.0.1",
        "BEHIND_TLS_PROXY": "True",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "WORKER_CONCURRENCY": "1",
        "INGEST_SWEEP_AFTER_SECONDS": "5",
        "BEAT_SCHEDULE_FILE": f"/tmp/qualify-beat-{database}",
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    yield env, port
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _manage(env, *args) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _honcho_start(env, *process_types: str) -> subprocess.Popen:
    """The Procfile's processes (all of them unless named), in their own process group."""
    return subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "honcho"), "start", *process_types],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _post_batch(port: int, write_key: str, batch: list) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/batch",
        data=json.dumps({"batch": batch}).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode(),
            # The load balancer terminates TLS and says so.
            "X-Forwarded-Proto": "https",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local test server
        return response.status


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _health(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


def test_the_procfile_stack_serves_ingests_and_processes_with_production_settings(production_env):
    # given a migrated production database and a source
    env, port = production_env
    _manage(env, "migrate", "--noinput")
    assert "System check identified no issues" in _manage(env, "check", "--deploy")
    write_key = _manage(env, "create_source", "web-app", "--kind", "product").strip().splitlines()[-1].split()[-1]
    honcho = _honcho_start(env)
    try:
        _wait_for(lambda: _health(port), 30, "gunicorn to answer /health/")
        # when a client sends a batch over HTTP
        now = "2026-11-20T10:00:00Z"
        batch = [
            {"type": "identify", "messageId": "m1", "userId": "u1", "traits": {"email": "ada@acme-prod.test"}},
            {"type": "track", "messageId": "m2", "userId": "u1", "event": "Trial Started", "timestamp": now},
        ]
        assert _post_batch(port, write_key, batch) == 200

        # then the worker resolves the events to a lead
        database_url = env["DATABASE_URL"]

        def processed():
            with psycopg.connect(database_url) as conn:
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE processed_at IS NOT NULL AND lead_id IS NOT NULL) FROM leads_event"
                ).fetchone()
            return row[0] == 2

        _wait_for(processed, 30, "the worker to process the batch")
    finally:
        os.killpg(honcho.pid, signal.SIGTERM)
        output, _ = honcho.communicate(timeout=30)
    # and beat ran alongside the worker and the web processes
    assert "beat: Starting" in output, output[-3000:]
