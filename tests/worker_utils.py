"""Helpers for the processing tests: store events the way ingestion does, and run a real Celery worker.

`celery_worker()` starts `celery -A qualify_site worker` as a subprocess
pointed at the test database and the test Redis, waits until it is ready, and
stops it afterwards. Tests using it need committed data, so they use
`@pytest.mark.django_db(transaction=True)`.
"""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import redis
from celery.app.routes import MapRoute
from django.db import connection
from django.utils import timezone

from leads.services.ingest import batch_ingest
from qualify_site.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parent.parent


def ingest(source, messages: list[dict], *, received_at=None, envelope: dict | None = None) -> str:
    """Store messages through the real ingestion service; returns the batch id."""
    result = batch_ingest(
        source=source, messages=messages, envelope=envelope or {}, received_at=received_at or timezone.now()
    )
    assert not result.rejected, result.rejected
    return result.batch_id


def wait_until(predicate, *, timeout: float = 20.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def database_url_of_test_run() -> str:
    """The URL of the database this test run uses (pytest-django's test database)."""
    settings = connection.settings_dict
    user = quote(settings["USER"] or "")
    password = f":{quote(settings['PASSWORD'])}" if settings.get("PASSWORD") else ""
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgresql://{user}{password}@{host}:{port}/{settings['NAME']}"


INGESTION_TASKS = ("leads.tasks.*", "pipeline.tasks.events_process_task")


@contextlib.contextmanager
def tasks_routed_to_own_queue(tasks: Collection[str] = INGESTION_TASKS):
    """Publish `tasks` (names or glob patterns; by default ingestion's: leads.tasks and the
    pipeline's events_process_task) for real (not eagerly) to a queue of this test's own;
    yields its name."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    route = MapRoute({task: {"queue": queue} for task in tasks})
    amqp = celery_app.amqp
    saved_routes, saved_router = amqp.routes, amqp.router
    amqp._rtable = (route, *saved_routes)
    amqp.router = amqp.Router()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield queue
    finally:
        celery_app.conf.task_always_eager = eager
        amqp._rtable, amqp.router = saved_routes, saved_router
        redis.Redis.from_url(celery_app.conf.broker_url).delete(queue)


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no acknowledgement, connections just drop."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def pool_process_of(batch_id: str, *, besides: Collection[int] = ()) -> int | None:
    """The pid of a prefork pool process running the batch's processing task now, if any.

    `besides`: pids to pass over (a process killed lately may be listed a moment longer).
    """
    active = celery_app.control.inspect(timeout=0.5).active() or {}
    for tasks in active.values():
        for task in tasks:
            if task["args"] == [batch_id] and task["worker_pid"] not in besides:
                return task["worker_pid"]
    return None


@contextlib.contextmanager
def celery_worker(
    *,
    queue: str,
    env: dict[str, str] | None = None,
    ready_timeout: float = 30.0,
    pool: str = "solo",
    concurrency: int = 1,
):
    """Run a real worker (solo pool by default: one process, so SIGKILL hits the one doing the work).

    With `pool="prefork"` it runs as deployed: child processes under a parent,
    which requeues the task of a child that dies (see `pool_process_of`).

    It consumes only `queue` (see `tasks_routed_to`), so that other workers
    sharing the Redis database cannot take this test's tasks, nor it theirs.
    """
    worker_env = dict(os.environ)
    worker_env.update(
        {
            "DATABASE_URL": database_url_of_test_run(),
            "CELERY_TASK_ALWAYS_EAGER": "False",
            # The worker connects to the test database directly: it must not
            # try to create its own test database name.
            "DB_CONN_MAX_AGE": "0",
        }
    )
    worker_env.update(env or {})
    log_file = tempfile.NamedTemporaryFile(prefix="qualify-worker-", suffix=".log", delete=False)  # noqa: SIM115
    log_path = Path(log_file.name)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "qualify_site",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            "-Q",
            queue,
            "-n",
            f"test-{uuid.uuid4().hex[:8]}@%h",
        ],
        cwd=BASE_DIR,
        env=worker_env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = WorkerProcess(process=process, log_path=log_path)
    try:
        wait_until(
            lambda: "ready." in worker.log or process.poll() is not None,
            timeout=ready_timeout,
            message="the worker to be ready",
        )
        assert process.poll() is None, f"worker exited early:\n{worker.log}"
        yield worker
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        log_file.close()
        log_path.unlink(missing_ok=True)
