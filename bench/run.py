"""`make bench`: ingestion and processing throughput on the production stack.

On PostgreSQL and Redis (the servers of DATABASE_URL and REDIS_URL, local by
default), in a dedicated database (`qualify_bench`, dropped and migrated each
run) and a dedicated Redis database (9, or BENCH_REDIS_URL; flushed each run),
it measures:

1. ingest_http_events_per_s: concurrent clients POST pre-generated 500-event
   /v1/batch bodies (the demo world's messages) to gunicorn with DEBUG=False;
   events persisted (rows counted in the database) per second of wall time.
2. postgres_copy_rows_per_s: the same rows, same columns, written by
   PostgreSQL's COPY (psycopg 3 `cursor.copy()`) into a scratch table with
   the same indexes: the ceiling any ingestion path can approach.
3. processed_events_per_s_per_worker_identity_only, then
   processed_events_per_s_per_worker: two backlogs of the same size (the
   first and the next slice of the demo world, both ingested through HTTP
   before either is processed) are each processed by ONE real Celery worker
   process (prefork, concurrency 1), timed from "worker ready" until no event
   is left unprocessed (and, with rules, no lead waits for its incremental
   rescore): the first with no rule version live (identity resolution only),
   the second with the default rules live. scoring_cost_ratio = with / without.
4. full_rescore_leads_per_s: a processed world of --rescore-leads leads and
   --rescore-events events is written directly (bench/rescore_world.py: this
   measures rescoring, not ingestion), then a clone of the live version is
   published with TWO worker processes running, timed until the version's
   rescore is finished.
5. Page figures (issue 9): queue_page_p95_ms, lead_page_p95_ms and
   manager_board_p95_ms, server time of each page on the scored world with
   50 reps and their queues (bench/pages_bench.py). `--only pages` runs
   phase 4's world and this phase alone.
6. Routing figures (issue 4): bench/routing_bench.py.

Every figure is printed on its own line as `name: value` and written to
bench/results/latest.txt. Every process it starts is stopped, even on error.
"""

import argparse
import base64
import http.client
import io
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# The bench flushes its Redis database, so it never uses the app's own (or the
# test suite's, 15): same server, a database of its own.
BENCH_REDIS_DB = 9
BATCH_SIZE = 500
# Columns an ingestion insert writes (everything but the generated id).
EVENT_COLUMNS = (
    "source_id, message_id, batch_id, type, event, name, user_id, anonymous_id, group_id, previous_id, "
    "properties, traits, context, extra, original_timestamp, sent_at, received_at, timestamp, "
    "lead_id, account_id, processed_at"
)
TARGETS = {"ingest_http_events_per_s": 10_000, "processed_events_per_s_per_worker": 5_000}
SCORING_COST_RATIO_TARGET = 0.5
FULL_RESCORE_TARGET_SECONDS = 60
WORKER_OPTIONS = ["--pool", "prefork", "--without-gossip", "--without-mingle", "--without-heartbeat"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--events", type=int, default=150_000, help="Events per backlog: two are ingested, then processed (150k)."
    )
    parser.add_argument("--clients", type=int, default=6, help="Concurrent HTTP clients (default 6).")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn worker processes (default 3).")
    parser.add_argument("--web-threads", type=int, default=1, help="Threads per gunicorn worker (1: sync workers).")
    parser.add_argument("--seed", type=int, default=7, help="Seed of the demo world the events come from.")
    parser.add_argument("--database", default="qualify_bench", help="Database to (re)create on the server.")
    parser.add_argument("--database-url", default=os.getenv("DATABASE_URL") or DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--redis-url",
        default=os.getenv("BENCH_REDIS_URL") or redis_url_for(os.getenv("REDIS_URL") or DEFAULT_REDIS_URL),
        help=f"A Redis database for the bench alone, flushed (default: REDIS_URL's server, database {BENCH_REDIS_DB}).",
    )
    parser.add_argument("--no-processing", action="store_true", help="Measure ingestion and COPY only.")
    parser.add_argument(
        "--no-rules", action="store_true", help="Process the first backlog only, identity resolution (no scoring)."
    )
    parser.add_argument("--rescore-leads", type=int, default=100_000, help="Leads of the full rescore (100k).")
    parser.add_argument("--rescore-events", type=int, default=2_000_000, help="Events of the full rescore (2M).")
    parser.add_argument("--no-rescore", action="store_true", help="Skip the full rescore phase.")
    parser.add_argument("--processing-timeout", type=float, default=600, help="Give up processing after (s).")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "latest.txt")
    parser.add_argument("--no-pages", action="store_true", help="Skip the page benchmarks (phase 5).")
    parser.add_argument(
        "--only",
        choices=["pages", "insights"],
        help="pages: build and score the world (--rescore-leads, --rescore-events), then time the pages only; "
        "insights: the same world, then time a backtest and a suggested version only.",
    )
    parser.add_argument(
        "--reuse-world",
        action="store_true",
        help="With --only: keep the database and the scored world an earlier --only run left.",
    )
    parser.add_argument("--no-insights", action="store_true", help="Skip the backtest and suggested version (5b).")
    from insights_bench import add_insights_arguments
    from pages_bench import add_pages_arguments  # bench/ is on sys.path when run as a script
    from routing_bench import add_routing_arguments

    add_insights_arguments(parser)
    add_pages_arguments(parser)
    add_routing_arguments(parser)
    return parser.parse_args(argv)


class Figures:
    """The run's results, printed as `name: value` the moment they are known."""

    def __init__(self):
        self.values: dict[str, object] = {}

    def __setitem__(self, name: str, value) -> None:
        if isinstance(value, float):
            value = round(value, 3) if value < 100 else round(value)
        self.values[name] = value
        print(f"{name}: {value}", flush=True)

    def __getitem__(self, name: str):
        return self.values[name]

    def __contains__(self, name: str) -> bool:
        return name in self.values


def log(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def redis_url_for(url: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{BENCH_REDIS_DB}"))


def database_url_for(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/" + name))


def database_recreate(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Processes:
    """Everything the bench starts, each in its own process group so that
    stopping it also stops its children (gunicorn and Celery fork workers)."""

    def __init__(self):
        self.running: list[subprocess.Popen] = []

    def start(self, args: list[str], env: dict, log_path: Path) -> subprocess.Popen:
        log_file = open(log_path, "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        process.log_file = log_file
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
            except ProcessLookupError:
                pass
        process.log_file.close()
        if process in self.running:
            self.running.remove(process)

    def stop_all(self) -> None:
        for process in list(reversed(self.running)):
            self.stop(process)


def batch_bodies(events: int, seed: int) -> list[tuple[str, bytes]]:
    """(source kind, JSON body) of full 500-message batches, `events` messages in all."""
    from leads.demo.world import WorldSpec, message_batches, world_units

    # About 150 messages per company at the default five people each.
    spec = WorldSpec(seed=seed, accounts=math.ceil(events / 120) + 10)
    bodies, total = [], 0
    for kind, messages in message_batches(world_units(spec), size=BATCH_SIZE):
        if len(messages) < BATCH_SIZE:
            continue
        bodies.append((kind, json.dumps({"batch": messages}).encode()))
        total += len(messages)
        if total >= events:
            break
    return bodies


def wait_for_http(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see its log")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /health/ in time")


def wait_for_log(path: Path, needle: bytes, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}; see {path}")
        if needle in path.read_bytes():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{needle!r} never appeared in {path}")


def post_all(port: int, bodies: list[tuple[str, bytes]], keys: dict[str, str], clients: int) -> dict:
    """POST every body from `clients` threads; retry 429/503 like Segment clients do."""
    authorization = {kind: "Basic " + base64.b64encode(f"{key}:".encode()).decode() for kind, key in keys.items()}
    queue = iter(range(len(bodies)))
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                index = next(queue, None)
            if index is None:
                break
            kind, body = bodies[index]
            headers = {"Content-Type": "application/json", "Authorization": authorization[kind]}
            for attempt in range(5):
                started = time.monotonic()
                try:
                    connection.request("POST", "/v1/batch", body=body, headers=headers)
                    response = connection.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as error:
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    status, reason = None, repr(error)
                else:
                    status, reason = response.status, response.reason
                    if response.getheader("Connection", "").lower() == "close":
                        connection.close()
                latencies.append(time.monotonic() - started)
                if status == 200:
                    break
                if attempt == 4 or status not in (None, 429, 500, 502, 503, 504):
                    errors.append(f"{status} {reason}")
                    break
                time.sleep(0.2 * (attempt + 1))
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else 0,
        "p95_ms": 1000 * latencies[int(len(latencies) * 0.95)] if latencies else 0,
    }


def copy_rate(database_url: str, *, with_indexes: bool = True) -> tuple[int, float]:
    """COPY the stored events (as ingested, unprocessed) into a scratch table
    with the same columns (and the same indexes, unless told); (rows, seconds)."""
    import psycopg

    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        chunks = []
        with cursor.copy(f"COPY (SELECT {EVENT_COLUMNS} FROM leads_event) TO STDOUT") as copy:  # noqa: S608
            for chunk in copy:
                chunks.append(bytes(chunk))
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
        like = "INCLUDING ALL" if with_indexes else "INCLUDING DEFAULTS INCLUDING IDENTITY"
        cursor.execute(f"CREATE TABLE bench_copy (LIKE leads_event {like})")
        connection.commit()
        started = time.monotonic()
        with cursor.copy(f"COPY bench_copy ({EVENT_COLUMNS}) FROM STDIN") as copy:
            for chunk in chunks:
                copy.write(chunk)
        connection.commit()
        seconds = time.monotonic() - started
        cursor.execute("SELECT count(*) FROM bench_copy")
        rows = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_copy")
        connection.commit()
    return rows, seconds


def bench_environment(options: argparse.Namespace, *, recreate: bool = True) -> tuple[str, dict]:
    """Recreate the bench's database (unless told not to), and return its URL and the environment every
    process of the bench runs with (this one included, from here on)."""
    bench_url = database_url_for(options.database_url, options.database)
    env = dict(
        os.environ,
        DATABASE_URL=bench_url,
        REDIS_URL=options.redis_url,
        DEBUG="False",
        SECRET_KEY="bench-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CELERY_TASK_ALWAYS_EAGER="False",
        # The bench measures throughput, not the per-source rate limit.
        INGEST_RATE_LIMIT_PER_MINUTE=str(10**9),
        LOG_LEVEL="WARNING",
        # Plain HTTP on loopback: in production TLS ends at the proxy in front.
        SECURE_SSL_REDIRECT="False",
        DJANGO_SETTINGS_MODULE="qualify_site.settings",
    )
    log(f"database {options.database} ({'recreated' if recreate else 'kept'}), Redis {options.redis_url} (flushed)")
    if recreate:
        database_recreate(options.database_url, options.database)
    os.environ.update(env)
    return bench_url, env


def run(options: argparse.Namespace, figures: Figures, processes: Processes, work: Path) -> None:
    if options.only:
        only_phase(options, figures, processes, work)
        return
    bench_url, env = bench_environment(options)
    import django
    import redis

    django.setup()
    from django.core.management import call_command

    from leads.services.sources import source_create

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(options.redis_url).flushdb()
    sources = {kind: source_create(name=f"bench {kind}", kind=kind) for kind in ("marketing", "product")}
    keys = {kind: key for kind, (_, key) in sources.items()}

    log(f"generating 2 x {options.events} events from the demo world (seed {options.seed})")
    first, second = backlogs_split(batch_bodies(2 * options.events, options.seed))
    events = sum(body.count(b'"messageId"') for _, body in first)
    figures["events"] = events
    figures["batch_bytes_avg"] = sum(len(body) for _, body in first) // len(first)

    # 1. HTTP ingestion of the first backlog, the measured one.
    ingest(options, figures, processes, work, env, first, keys, name="ingest")
    first_batches = [row[0] for row in rows("SELECT DISTINCT batch_id FROM leads_event")]

    # 2. PostgreSQL's own COPY of the same rows.
    rows_copied, seconds = copy_rate(bench_url)
    figures["postgres_copy_rows"] = rows_copied
    figures["postgres_copy_rows_per_s"] = rows_copied / seconds
    figures["ingest_vs_copy_ratio"] = figures["ingest_http_events_per_s"] / figures["postgres_copy_rows_per_s"]
    # For context: the same COPY into a bare table, what indexes cost.
    rows_copied, seconds = copy_rate(bench_url, with_indexes=False)
    figures["postgres_copy_rows_per_s_without_indexes"] = rows_copied / seconds

    if options.no_processing:
        return
    # The second backlog is stored before either is processed, so both are
    # processed against tables of the same size (processing slows as they grow).
    if not options.no_rules:
        ingest(options, figures, processes, work, env, second, keys, name="ingest_second_backlog")

    # 3a. Identity resolution only: no rule version is live yet.
    identity_only = process_backlog(
        options, figures, processes, work, env, batch_ids=first_batches, name="identity_only"
    )
    figures["processed_events_per_s_per_worker_identity_only"] = identity_only
    if not options.no_rules:
        # 3b. As deployed: the default rules live, processing scores what it resolves.
        call_command("install_default_rules", stdout=io.StringIO())
        figures["scoring_rules_live"] = "yes"
        second_batches = [
            row[0] for row in rows("SELECT DISTINCT batch_id FROM leads_event WHERE processed_at IS NULL")
        ]
        with_scoring = process_backlog(
            options, figures, processes, work, env, batch_ids=second_batches, name="with_scoring"
        )
        figures["processed_events_per_s_per_worker"] = with_scoring
        figures["scoring_cost_ratio"] = with_scoring / identity_only
        figures["scoring_cost_ratio_target_met"] = target_met(figures["scoring_cost_ratio"], SCORING_COST_RATIO_TARGET)
        figures["processed_vs_copy_ratio"] = with_scoring / figures["postgres_copy_rows_per_s"]
    for name, target in TARGETS.items():
        if name in figures:
            figures[f"{name}_target_met"] = target_met(figures[name], target)

    # 4. Full rescore after publishing, two worker processes.
    if not options.no_rescore:
        full_rescore(options, figures, processes, work, env, bench_url, sources)
        # 5. Issue 9: the pages, on the scored world (before routing's phases empty the lead tables).
        if not options.no_pages:
            page_figures(options, figures, work, env)
        # 5b. Issue 11: a backtest and a suggested version on the same world and its outcomes.
        if not options.no_insights:
            insights_phase(options, figures, work, env)

    # 6. Issue 4.
    routing_figures(options, figures, processes, work, env)


def only_phase(options, figures, processes, work) -> None:
    """Phase 4's world (built and scored, or kept with --reuse-world), then phase 5 or 5b alone."""
    bench_url, env = bench_environment(options, recreate=not options.reuse_world)
    import django
    import redis

    django.setup()
    from django.core.management import call_command

    from leads.models import Source
    from leads.services.sources import source_create

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(options.redis_url).flushdb()
    if not options.reuse_world:
        sources = {kind: source_create(name=f"bench {kind}", kind=kind) for kind in ("marketing", "product")}
        call_command("install_default_rules", stdout=io.StringIO())
        full_rescore(options, figures, processes, work, env, bench_url, sources)
    else:
        figures["pages_world_leads"] = count("SELECT count(*) FROM leads_lead")
        figures["pages_world_events"] = count("SELECT count(*) FROM leads_event")
        if not Source.objects.exists() or not count("SELECT count(*) FROM scoring_leadscore"):
            raise RuntimeError("--reuse-world needs a scored world: run --only without it first")
    if options.only == "pages":
        page_figures(options, figures, work, env)
    else:
        insights_phase(options, figures, work, env)


def insights_phase(options, figures, work, env) -> None:
    """Issue 11: `backtest_seconds`, `suggest_version_seconds` (target: under 120 s each, one process,
    100k leads, 2M events). See bench/insights_bench.py."""
    from insights_bench import insights_figures

    insights_figures(options, figures, work, env)


def page_figures(options, figures, work, env) -> None:
    """Issue 9: `queue_page_p95_ms`, `lead_page_p95_ms`, `manager_board_p95_ms` (target: under 150 ms
    server time with 100k leads, 2M events, 50 reps). See bench/pages_bench.py."""
    sys.path.insert(0, str(ROOT / "bench"))
    from pages_bench import pages_figures

    pages_figures(options, figures, work, env)


def target_met(value: float, target: float) -> str:
    return "yes" if value >= target else f"no (target {target})"


def backlogs_split(bodies: list[tuple[str, bytes]]) -> tuple[list, list]:
    """The first half of the stream's events, and the rest (whole batches).

    Consecutive slices of one world: units (companies, lone visitors) never
    repeat, so the second backlog brings new leads as the first did.
    """
    total = sum(body.count(b'"messageId"') for _, body in bodies)
    seen = 0
    for index, (_, body) in enumerate(bodies):
        seen += body.count(b'"messageId"')
        if seen >= total / 2:
            return bodies[: index + 1], bodies[index + 1 :]
    return bodies, []


def ingest(options, figures, processes, work, env, bodies, keys, *, name: str) -> int:
    """POST `bodies` to a fresh gunicorn; figures `<name>_...`; events persisted."""
    before = count("SELECT count(*) FROM leads_event")
    port = free_port()
    worker_class = ["--worker-class", "sync"]
    if options.web_threads > 1:
        worker_class = ["--worker-class", "gthread", "--threads", str(options.web_threads)]
    gunicorn = processes.start(
        [str(Path(sys.executable).parent / "gunicorn"), "qualify_site.wsgi", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", str(options.web_workers), *worker_class, "--preload", "--log-level", "warning"],
        env,
        work / f"gunicorn-{name}.log",
    )
    wait_for_http(port, gunicorn)
    log(f"gunicorn ready on :{port} ({options.web_workers} workers); {options.clients} clients posting ({name})")
    started = time.monotonic()
    result = post_all(port, bodies, keys, options.clients)
    seconds = time.monotonic() - started
    processes.stop(gunicorn)
    persisted = count("SELECT count(*) FROM leads_event") - before
    figures[f"{name}_http_requests"] = result["requests"]
    figures[f"{name}_http_errors"] = len(result["errors"])
    figures[f"{name}_events_persisted"] = persisted
    figures[f"{name}_seconds"] = seconds
    figures[f"{name}_http_latency_p50_ms"] = result["p50_ms"]
    figures[f"{name}_http_latency_p95_ms"] = result["p95_ms"]
    figures[f"{name}_http_events_per_s"] = persisted / seconds
    if result["errors"]:
        log(f"first errors: {result['errors'][:3]}")
    if not persisted:
        raise RuntimeError("no event was persisted")
    return persisted


def worker_start(processes, work, env, *, name: str, concurrency: int = 1):
    worker_log = work / f"worker-{name}.log"
    worker = processes.start(
        [str(Path(sys.executable).parent / "celery"), "-A", "qualify_site", "worker", "--concurrency", str(concurrency)]
        + [*WORKER_OPTIONS, "--loglevel", "INFO", "-n", f"{name}@%h"],
        env,
        worker_log,
    )
    return worker, worker_log


def process_backlog(options, figures, processes, work, env, *, batch_ids: list, name: str) -> float:
    """One worker process drains the given stored batches; events processed per second."""
    backlog = count(
        "SELECT count(*) FROM leads_event WHERE processed_at IS NULL AND batch_id = ANY(%s)", [list(batch_ids)]
    )
    figures[f"processing_{name}_backlog"] = backlog
    figures[f"processing_{name}_tasks"] = processing_tasks_enqueue(options.redis_url, batch_ids)
    worker, worker_log = worker_start(processes, work, env, name=f"bench-{name}")
    wait_for_log(worker_log, b" ready.", worker)
    started = time.monotonic()
    deadline = started + options.processing_timeout
    # EXISTS stops at the first unprocessed row: polling must not steal the
    # worker's CPU (a count over the backlog ten times a second does). Done
    # means processed AND scored: no event unprocessed, no lead waiting for its
    # incremental rescore.
    while time.monotonic() < deadline and count(
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM leads_event WHERE processed_at IS NULL"
        " AND batch_id = ANY(%s) LIMIT 1) AS e)"
        " + (SELECT count(*) FROM (SELECT 1 FROM scoring_pendingrescore LIMIT 1) AS s)",
        [list(batch_ids)],
    ):
        time.sleep(0.2)
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}; see {worker_log}")
    seconds = time.monotonic() - started
    left = count(
        "SELECT count(*) FROM leads_event WHERE processed_at IS NULL AND batch_id = ANY(%s)", [list(batch_ids)]
    )
    processes.stop(worker)
    figures[f"processing_{name}_seconds"] = seconds
    figures[f"processing_{name}_left_unprocessed"] = left
    figures[f"processing_{name}_leads_left_unscored"] = count("SELECT count(*) FROM scoring_pendingrescore")
    figures[f"processing_{name}_leads_scored"] = count("SELECT count(*) FROM scoring_leadscore")
    return (backlog - left) / seconds


def processing_tasks_enqueue(redis_url: str, batch_ids: list) -> int:
    """One processing task per given stored batch, on an otherwise empty queue.

    Ingestion already enqueued them, but the backlog must not depend on what
    happened to Redis meanwhile (a restart loses its queues; in production the
    beat sweeper re-enqueues, here nothing would), nor include the other
    backlog's tasks or a publish's full rescore: start from a known queue.
    """
    import redis

    from pipeline.tasks import events_process_task

    redis.Redis.from_url(redis_url).flushdb()
    for batch_id in batch_ids:
        events_process_task.delay(str(batch_id))
    return len(batch_ids)


def full_rescore(options, figures, processes, work, env, bench_url: str, sources: dict) -> None:
    """Publish with two worker processes running, over a world written at scale.

    The processing phases' rows are truncated first, so the figure is about
    exactly the world built here.
    """
    import redis
    from django.db import connection

    from scoring.engine import default_rules
    from scoring.models import LeadScore
    from scoring.selectors import rule_version_live
    from scoring.services import rule_version_clone, rule_version_create_from_document, rule_version_publish

    sys.path.insert(0, str(ROOT / "bench"))
    from rescore_world import world_build

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE leads_event, leads_lead, leads_account CASCADE")
    log(f"writing a processed world of {options.rescore_leads} leads, {options.rescore_events} events")
    started = time.monotonic()
    report = world_build(
        leads=options.rescore_leads,
        events=options.rescore_events,
        source_ids={kind: source.id for kind, (source, _) in sources.items()},
        database_url=bench_url,
    )
    figures["full_rescore_build_seconds"] = time.monotonic() - started
    figures["full_rescore_accounts"] = report.accounts
    figures["full_rescore_events"] = report.events
    figures["full_rescore_outcomes"] = report.outcomes

    redis.Redis.from_url(options.redis_url).flushdb()
    workers = [worker_start(processes, work, env, name=f"bench-rescore-{number}") for number in (1, 2)]
    for worker, worker_log in workers:
        wait_for_log(worker_log, b" ready.", worker)
    live = rule_version_live()
    if live is not None:
        draft = rule_version_clone(version=live, name="Bench: clone of the live version")
    else:
        draft = rule_version_create_from_document(name="Bench: default rules", document=default_rules())
    log(f"publishing v{draft.number}; two workers rescore")
    started = time.monotonic()
    version = rule_version_publish(version_id=draft.id)
    deadline = started + options.processing_timeout
    while time.monotonic() < deadline:
        version.refresh_from_db(fields=["rescore_finished_at", "rescore_done", "rescore_total"])
        if version.rescore_finished_at is not None:
            break
        for worker, worker_log in workers:
            if worker.poll() is not None:
                raise RuntimeError(f"a worker exited with {worker.returncode}; see {worker_log}")
        time.sleep(0.25)
    seconds = time.monotonic() - started
    for worker, _ in workers:
        processes.stop(worker)
    scored = LeadScore.objects.filter(version=version).count()
    figures["full_rescore_leads"] = version.rescore_total
    figures["full_rescore_leads_scored"] = scored
    figures["full_rescore_workers"] = len(workers)
    figures["full_rescore_finished"] = "yes" if version.rescore_finished_at else "no (timed out)"
    figures["full_rescore_seconds"] = seconds
    figures["full_rescore_leads_per_s"] = scored / seconds
    met = version.rescore_finished_at is not None and seconds < FULL_RESCORE_TARGET_SECONDS
    at_scale = version.rescore_total >= 100_000
    if not at_scale:
        figures["full_rescore_target_met"] = "n/a (the target is for 100k leads)"
    else:
        figures["full_rescore_target_met"] = "yes" if met else f"no (target {FULL_RESCORE_TARGET_SECONDS} s)"


def routing_figures(options, figures, processes, work, env) -> None:
    """Issue 4: `routed_leads_per_s`, `event_to_assignment_p50_ms` and `_p95_ms` (target: p95 under one
    second at 500 events/s, one worker under a steady event load). See bench/routing_bench.py."""
    sys.path.insert(0, str(ROOT / "bench"))
    from routing_bench import routing_figures as measure

    measure(options, figures, processes, work, env)


def count(sql: str, params: list | None = None) -> int:
    return rows(sql, params)[0][0]


def rows(sql: str, params: list | None = None) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def write_results(path: Path, figures: Figures, options: argparse.Namespace, failure: str | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# make bench, {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, {os.cpu_count()} CPUs, "
        f"{options.events} events, {options.clients} clients, {options.web_workers} web workers "
        f"x {options.web_threads} threads; full rescore of {options.rescore_leads} leads, "
        f"{options.rescore_events} events"
    ]
    lines += [f"{name}: {value}" for name, value in figures.values.items()]
    if failure:
        lines.append(f"error: {failure}")
    path.write_text("\n".join(lines) + "\n")


def _stop_on_sigterm(signum, frame):
    # A timeout (a test's, CI's) sends SIGTERM: unwind through `finally` so the
    # workers and gunicorn, each in its own session, are stopped, not orphaned
    # (an orphaned worker would go on consuming the next run's tasks).
    raise KeyboardInterrupt("SIGTERM")


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    figures, processes = Figures(), Processes()
    work = Path(tempfile.mkdtemp(prefix="qualify-bench-"))
    failure = None
    try:
        run(options, figures, processes, work)
    except (Exception, KeyboardInterrupt) as error:
        failure = f"{type(error).__name__}: {error}"
        traceback.print_exc()
        log(f"FAILED: {failure} (logs in {work})")
    finally:
        processes.stop_all()
        write_results(options.results, figures, options, failure)
    if failure is None:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
