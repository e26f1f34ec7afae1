"""Routing figures (issue 4): leads routed per second, and event-to-assignment latency under load.

Run by `make bench` after the other phases (`routing_figures()`, in the harness's database and Redis), or alone
while developing, on a database it recreates:

    .venv/bin/python bench/routing_bench.py --database qualify_bench_routing --redis-url redis://127.0.0.1:6379/5

Both phases start from the same state: the lead tables truncated (they cascade to scores, assignments and
decisions), Redis flushed, the default scoring rules live (installed if no version is), and the demo sales org
(`routing.demo.routing_demo_setup`: four reps in three time zones, Enterprise / North America / EMEA queues, the
fallback queue) with every rep's capacity raised so no lead waits for room: the figures are about routing, not
about a full team.

1. routed_leads_per_s. `--routing-leads` qualified leads (MQL and PQL) at accounts of every segment in North
   America, EMEA and elsewhere, some accounts owned by a rep and most with several leads, so the account-owner,
   account-rep, rule and fallback paths all occur, are routed by the production path: `leads_route_task` in
   chunks of 100 ids, queued before ONE worker process (`-c 1`) starts, timed from "worker ready" until every
   lead has an active assignment.
2. event_to_assignment_p50_ms / _p95_ms. gunicorn (as the harness starts it) and ONE worker (`-c 1`) run while
   a paced client posts `/v1/batch` requests of `--load-batch` background events (the demo world's stream, a seed
   of its own) every `--load-interval-ms`, `--load-seconds` long (500 events/s by default). Among them,
   `--qualifying-per-s` requests carry a qualifying sequence for a NEW lead: identify (business email, VP title),
   group (an enterprise or mid-market software company) and `Plan Limit Reached` with `context.groupId` (PQL) or
   `Demo Requested` (MQL), alternately. Latency = the assignment's `created_at` (the worker's clock) minus the
   moment the client had the 200 (same machine, same clock): from the moment the events are durably accepted,
   so ingestion's own latency (reported apart as `routing_load_http_p95_ms`) is not counted twice.

Every figure is printed as `name: value`. The worker log's task timings are summarised per task name
(`routing_load_task_<name>_...`), the first place to look when the p95 misses.
"""

import argparse
import base64
import http.client
import json
import math
import os
import random
import re
import sys
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import run as harness  # noqa: E402 - the harness's helpers (processes, waits, queries)

ROUTE_CHUNK = 100
P95_TARGET_MS = 1000
LOAD_EVENTS_PER_S_TARGET = 500
# Qualifying sequences for new leads alternate between the two paths to MQL/PQL.
QUALIFYING_EVENTS = ("Plan Limit Reached", "Demo Requested")
TASK_LINE = re.compile(rb"Task ([\w.]+)\[[^\]]+\] succeeded in ([0-9.e-]+)s")

# (country, weight): North America and EMEA (territory rules) and the rest (the fallback queue).
COUNTRIES = (
    *(("US", 5), ("United States", 2), ("CA", 1)),
    *(("DE", 2), ("GB", 2), ("France", 1), ("ES", 1), ("NL", 1)),
    *(("BR", 1), ("JP", 1), ("IN", 1), ("AU", 1)),
)
INDUSTRIES = ("Software", "Financial Services", "Healthcare", "E-commerce", "Manufacturing", "Education")
TITLES = ("VP Data", "Head of Analytics", "Data Engineer", "Director of Engineering", "CTO", "Analytics Manager")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="qualify_bench_routing", help="Database to (re)create on the server.")
    parser.add_argument("--database-url", default=os.getenv("DATABASE_URL") or harness.DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5", help="A Redis database, flushed.")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn worker processes (default 3).")
    parser.add_argument("--seed", type=int, default=7)
    add_routing_arguments(parser)
    return parser.parse_args(argv)


def add_routing_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--routing-leads", type=int, default=5_000, help="Qualified leads routed (5,000; 0 skips phase 1)."
    )
    parser.add_argument("--load-seconds", type=float, default=30, help="Length of the steady load (30 s).")
    parser.add_argument("--load-batch", type=int, default=50, help="Events per request of the load (50).")
    parser.add_argument("--load-interval-ms", type=float, default=100, help="One request every (100 ms).")
    parser.add_argument("--qualifying-per-s", type=float, default=4, help="New qualifying leads per second (4).")
    # The deployed worker: the Procfile runs `celery worker --concurrency ${WORKER_CONCURRENCY:-2}`.
    parser.add_argument(
        "--load-concurrency",
        type=int,
        default=2,
        help="Processes of the load's one worker (-c; 2, the Procfile's default). 1 shows one process alone.",
    )
    parser.add_argument("--routing-timeout", type=float, default=300, help="Give up a phase after (s).")


# When the harness runs at smoke-test scale (tests/bench), the routing phases shrink with it.
SMOKE_EVENTS = 10_000
SMOKE_DEFAULTS = {"routing_leads": 200, "load_seconds": 5}


def option(options, name: str):
    """This module's flag; the harness's options lack them unless its parser adds them
    (`add_routing_arguments`): then the defaults, or the smoke-scale ones for a tiny harness run."""
    if hasattr(options, name):
        return getattr(options, name)
    if getattr(options, "events", SMOKE_EVENTS) < SMOKE_EVENTS and name in SMOKE_DEFAULTS:
        return SMOKE_DEFAULTS[name]
    defaults = argparse.ArgumentParser()
    add_routing_arguments(defaults)
    return getattr(defaults.parse_args([]), name)


def routing_figures(options, figures, processes, work: Path, env: dict) -> None:
    """Both routing phases, in the Django-configured process of the harness (or of `main`)."""
    if option(options, "routing_leads") > 0:
        org_prepare(options, figures)
        routed_leads(options, figures, processes, work, env)
    org_prepare(options, figures)
    event_to_assignment(options, figures, processes, work, env)


# --- State -----------------------------------------------------------------------------------


def org_prepare(options, figures) -> None:
    """Empty lead tables, an empty queue, live scoring rules and the demo sales org with room for everything."""
    import redis
    from django.db import connection

    from leads.demo.loader import demo_users_create
    from routing.demo import routing_demo_setup
    from routing.models import Rep
    from scoring.services import rule_version_install_default

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE leads_event, leads_lead, leads_account CASCADE")
    rule_version_install_default()
    demo_users_create()
    routing_demo_setup()
    # Capacity is a team's choice; here no lead may wait for room, or the figure measures the team's size.
    room = 10 * (option(options, "routing_leads") + 1_000)
    Rep.objects.update(capacity=room, is_active=True)
    # Publishing (or anything above) may have queued tasks: start from an empty queue.
    redis.Redis.from_url(options.redis_url).flushdb()


def accounts_and_leads_create(total: int, seed: int) -> list[int]:
    """`total` qualified leads at realistic accounts (mixed segments, countries, owners); their ids."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from leads.models import Account, Lead, Stage, segment_for_employees

    rng = random.Random(f"routing-bench:{seed}")
    owners = list(get_user_model().objects.filter(rep__isnull=False).values_list("id", flat=True))
    countries = [country for country, weight in COUNTRIES for _ in range(weight)]
    accounts, people = [], []
    while len(people) < total:
        number = len(accounts)
        employees = rng.choice((rng.randint(5, 99), rng.randint(100, 999), rng.randint(1_000, 20_000)))
        account = Account(
            name=f"Routing Bench {number}",
            domain=f"rb{number}.example.com",
            group_id=f"rb-{number}",
            industry=rng.choice(INDUSTRIES),
            employee_count=employees,
            segment=segment_for_employees(employees),
            country=rng.choice(countries),
            # About one account in ten has an owner: its leads go straight to them.
            owner_id=rng.choice(owners) if owners and rng.random() < 0.1 else None,
        )
        accounts.append(account)
        # Mostly several leads per account: the later ones follow the first's rep.
        for person in range(rng.choice((1, 1, 2, 3, 4))):
            people.append((account, person))
    Account.objects.bulk_create(accounts, batch_size=1_000)
    now = timezone.now()
    leads = [
        Lead(
            email=f"p{person}@{account.domain}",
            first_name="Pat",
            last_name=f"Buyer {index}",
            title=rng.choice(TITLES),
            country=account.country,
            account=account,
            stage=rng.choice((Stage.MQL, Stage.PQL)),
            stage_changed_at=now,
            first_seen_at=now,
            last_seen_at=now,
        )
        for index, (account, person) in enumerate(people[:total])
    ]
    Lead.objects.bulk_create(leads, batch_size=1_000)
    return [lead.id for lead in leads]


# --- Phase 1: leads routed per second --------------------------------------------------------


def routed_leads(options, figures, processes, work: Path, env: dict) -> None:
    from routing.models import RoutingTrigger
    from routing.tasks import leads_route_task

    total = option(options, "routing_leads")
    lead_ids = accounts_and_leads_create(total, options.seed)
    for start in range(0, len(lead_ids), ROUTE_CHUNK):
        leads_route_task.delay(lead_ids[start : start + ROUTE_CHUNK], RoutingTrigger.QUALIFIED)
    figures["routed_leads"] = len(lead_ids)
    figures["routed_leads_tasks"] = -(-len(lead_ids) // ROUTE_CHUNK)
    worker, worker_log = harness.worker_start(processes, work, env, name="bench-routing")
    harness.wait_for_log(worker_log, b" ready.", worker)
    started = time.monotonic()
    deadline = started + option(options, "routing_timeout")
    first = min(lead_ids)
    # Leads of this phase only have ids from `first` on; the count is over a few thousand rows, polled 5 times
    # a second: cheap next to routing.
    decided = "SELECT count(*) FROM routing_assignment WHERE lead_id >= %s AND status IN ('open', 'waiting')"
    while time.monotonic() < deadline and harness.count(decided, [first]) < len(lead_ids):
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}; see {worker_log}")
        time.sleep(0.2)
    seconds = time.monotonic() - started
    processes.stop(worker)
    statuses = dict(
        harness.rows("SELECT status, count(*) FROM routing_assignment WHERE lead_id >= %s GROUP BY status", [first])
    )
    methods = harness.rows(
        "SELECT audit->>'method', count(*) FROM routing_routingdecision WHERE lead_id >= %s GROUP BY 1 ORDER BY 1",
        [first],
    )
    figures["routed_leads_seconds"] = seconds
    figures["routed_leads_assigned"] = statuses.get("open", 0)
    figures["routed_leads_waiting"] = statuses.get("waiting", 0)
    figures["routed_leads_unrouted"] = len(lead_ids) - statuses.get("open", 0) - statuses.get("waiting", 0)
    for method, number in methods:
        figures[f"routed_leads_by_{method}"] = number
    figures["routed_leads_per_s"] = (statuses.get("open", 0) + statuses.get("waiting", 0)) / seconds


# --- Phase 2: event to assignment under a steady load ---------------------------------------


def background_batches(seed: int, size: int, count: int) -> list[tuple[str, list[dict]]]:
    """`count` batches of `size` messages from the demo world's stream (a seed of its own: new people)."""
    from leads.demo.world import WorldSpec, message_batches, world_units

    spec = WorldSpec(seed=seed, accounts=count * size // 120 + 10)
    batches = []
    for kind, messages in message_batches(world_units(spec), size=size):
        if len(messages) == size:
            batches.append((kind, messages))
        if len(batches) == count:
            break
    return batches


def qualifying_sequence(number: int, rng: random.Random) -> tuple[str, list[dict]]:
    """A NEW lead's identify, group and qualifying track event; (email, messages)."""
    event = QUALIFYING_EVENTS[number % len(QUALIFYING_EVENTS)]
    user_id, group_id = f"rq-{number}", f"rq-company-{number}"
    email = f"buyer{number}@rq{number}.example.com"
    country = rng.choice(("US", "DE", "GB", "CA", "France"))
    employees = rng.choice((rng.randint(150, 999), rng.randint(1_000, 20_000)))
    timestamp = datetime.now(UTC).isoformat()
    messages = [
        {"type": "identify", "userId": user_id, "traits": {"email": email, "title": "VP Data", "country": country}},
        {
            "type": "group",
            "userId": user_id,
            "groupId": group_id,
            "traits": {"name": f"RQ {number}", "industry": "Software", "employees": employees, "country": country},
        },
        {"type": "track", "userId": user_id, "event": event, "context": {"groupId": group_id}, "properties": {}},
    ]
    for index, message in enumerate(messages):
        message["messageId"] = f"rq-{number}-{index}"
        message["timestamp"] = timestamp
    return email, messages


class PacedClient:
    """Posts request k at start + k * interval from a few threads (a slow answer must not slow the pace)."""

    def __init__(self, port: int, keys: dict[str, str], requests: list[tuple[str, list[dict], str | None]]):
        self.port = port
        self.authorization = {
            kind: "Basic " + base64.b64encode(f"{key}:".encode()).decode() for kind, key in keys.items()
        }
        self.requests = requests
        self.answered: dict[str, tuple[float, float]] = {}  # qualifying email: (sent, 200) wall-clock times
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.events_accepted = 0
        self.lock = threading.Lock()
        self.next_index = 0

    def run(self, interval: float, threads: int = 4) -> float:
        self.started = time.monotonic() + 0.2
        workers = [threading.Thread(target=self.client, args=(interval,)) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return time.monotonic() - self.started

    def client(self, interval: float) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while True:
            with self.lock:
                index, self.next_index = self.next_index, self.next_index + 1
            if index >= len(self.requests):
                break
            kind, messages, email = self.requests[index]
            time.sleep(max(0.0, self.started + index * interval - time.monotonic()))
            body = json.dumps({"batch": messages}).encode()
            headers = {"Content-Type": "application/json", "Authorization": self.authorization[kind]}
            sent, started = time.time(), time.monotonic()
            try:
                connection.request("POST", "/v1/batch", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                status = repr(error)
            answered = time.time()
            with self.lock:
                self.latencies.append(time.monotonic() - started)
                if status != 200:
                    self.errors.append(str(status))
                    continue
                self.events_accepted += len(messages)
                if email is not None:
                    self.answered[email] = (sent, answered)
        connection.close()


def event_to_assignment(options, figures, processes, work: Path, env: dict) -> None:
    from leads.services.sources import source_create

    seconds = option(options, "load_seconds")
    batch = option(options, "load_batch")
    interval = option(options, "load_interval_ms") / 1000
    per_second = option(options, "qualifying_per_s")
    requests_total = max(1, round(seconds / interval))
    rng = random.Random(f"routing-bench-load:{options.seed}")
    background = background_batches(options.seed + 1_000, batch, requests_total)
    # Qualifying requests at a steady rate (at most one a request): request i carries one when the count
    # due by its time ticks over.
    requests, emails = [], []
    for index, (kind, messages) in enumerate(background):
        email = None
        if int((index + 1) * interval * per_second) > int(index * interval * per_second):
            email, sequence = qualifying_sequence(len(emails), rng)
            messages = messages[: len(messages) - len(sequence)] + sequence
            emails.append(email)
        requests.append((kind, messages, email))
    stamp = int(time.time())
    keys = {
        kind: source_create(name=f"routing bench {kind} {stamp}", kind=kind)[1] for kind in ("marketing", "product")
    }

    port = harness.free_port()
    gunicorn = processes.start(
        [str(Path(sys.executable).parent / "gunicorn"), "qualify_site.wsgi", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", str(options.web_workers), "--worker-class", "sync", "--preload", "--log-level", "warning"],
        env,
        work / "gunicorn-routing.log",
    )
    harness.wait_for_http(port, gunicorn)
    concurrency = option(options, "load_concurrency")
    worker, worker_log = harness.worker_start(processes, work, env, name="bench-routing-load", concurrency=concurrency)
    harness.wait_for_log(worker_log, b" ready.", worker)
    harness.log(
        f"steady load: {batch} events every {interval * 1000:.0f} ms for {seconds:.0f} s, "
        f"{len(emails)} qualifying leads; one worker (-c {concurrency})"
    )
    client = PacedClient(port, keys, requests)
    load_seconds = client.run(interval)
    load_ended = time.monotonic()
    backlog_at_end = harness.count("SELECT count(*) FROM leads_event WHERE processed_at IS NULL")
    # Wait for the stragglers, polling twice a second (the worker keeps the CPU).
    deadline = load_ended + option(options, "routing_timeout")
    answered = list(client.answered)
    assigned_sql = (
        "SELECT l.email, min(a.created_at) FROM routing_assignment a JOIN leads_lead l ON l.id = a.lead_id"
        " WHERE l.email = ANY(%s) GROUP BY l.email"
    )
    while time.monotonic() < deadline:
        if len(harness.rows(assigned_sql, [answered])) >= len(answered):
            break
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}; see {worker_log}")
        time.sleep(0.5)
    drained_seconds = time.monotonic() - load_ended
    assigned = dict(harness.rows(assigned_sql, [answered]))
    processes.stop(worker)
    processes.stop(gunicorn)

    from_answer = sorted(1000 * (assigned[e].timestamp() - client.answered[e][1]) for e in assigned)
    from_send = sorted(1000 * (assigned[e].timestamp() - client.answered[e][0]) for e in assigned)
    http_latencies = sorted(client.latencies)
    figures["routing_load_worker_concurrency"] = concurrency
    figures["routing_load_seconds"] = load_seconds
    figures["routing_load_requests"] = len(requests)
    figures["routing_load_http_errors"] = len(client.errors)
    figures["routing_load_http_p95_ms"] = 1000 * percentile(http_latencies, 0.95)
    figures["routing_load_events_per_s"] = client.events_accepted / load_seconds
    figures["routing_load_backlog_at_end"] = backlog_at_end
    figures["routing_load_drained_seconds"] = drained_seconds
    figures["event_to_assignment_qualifying_leads"] = len(emails)
    figures["event_to_assignment_assigned"] = len(assigned)
    figures["event_to_assignment_p50_ms"] = percentile(from_answer, 0.5)
    figures["event_to_assignment_p95_ms"] = percentile(from_answer, 0.95)
    figures["event_to_assignment_max_ms"] = from_answer[-1] if from_answer else None
    figures["event_to_assignment_from_send_p95_ms"] = percentile(from_send, 0.95)
    task_timings(figures, worker_log, load_seconds + drained_seconds)
    rate_met = figures["routing_load_events_per_s"] >= 0.95 * LOAD_EVENTS_PER_S_TARGET
    all_assigned = len(assigned) == len(emails) > 0
    if all_assigned and rate_met and figures["event_to_assignment_p95_ms"] < P95_TARGET_MS:
        figures["event_to_assignment_p95_target_met"] = "yes"
    elif not rate_met:
        figures["event_to_assignment_p95_target_met"] = f"n/a (load below {LOAD_EVENTS_PER_S_TARGET} events/s)"
    else:
        figures["event_to_assignment_p95_target_met"] = f"no (target {P95_TARGET_MS} ms, every lead assigned)"


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it."""
    if not values:
        return None
    return values[max(0, math.ceil(len(values) * fraction) - 1)]


def task_timings(figures, worker_log: Path, elapsed: float) -> None:
    """Per task name: how many ran, p50 and max run time, and the share of the worker's time."""
    runs: dict[str, list[float]] = defaultdict(list)
    for name, seconds in TASK_LINE.findall(worker_log.read_bytes()):
        runs[name.decode().rsplit(".", 1)[-1]].append(float(seconds))
    busy = 0.0
    for name, durations in sorted(runs.items()):
        durations.sort()
        busy += sum(durations)
        figures[f"routing_load_task_{name}_count"] = len(durations)
        figures[f"routing_load_task_{name}_p50_ms"] = 1000 * percentile(durations, 0.5)
        figures[f"routing_load_task_{name}_max_ms"] = 1000 * durations[-1]
        figures[f"routing_load_task_{name}_seconds"] = sum(durations)
    figures["routing_load_worker_busy_ratio"] = busy / elapsed if elapsed else 0.0


# --- Alone -----------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    figures, processes = harness.Figures(), harness.Processes()
    work = Path(tempfile.mkdtemp(prefix="qualify-routing-bench-"))
    failure = None
    try:
        _, env = harness.bench_environment(options)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        routing_figures(options, figures, processes, work, env)
    except (Exception, KeyboardInterrupt) as error:
        failure = f"{type(error).__name__}: {error}"
        traceback.print_exc()
        harness.log(f"FAILED: {failure} (logs in {work})")
    finally:
        processes.stop_all()
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
