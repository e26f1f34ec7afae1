"""Page benchmarks (issue 9): server time of the pages people use all day, on the big world.

After the full rescore (phase 4: `--rescore-leads` leads, `--rescore-events` events, scored), this phase
gives the world a sales org and work, in bulk:

* `--page-reps` reps (50) in teams of ten, each team with its own queue (and a fallback queue), working
  hours in five time zones, all of them under one manager (`bench-manager`, so the board shows 50 reps);
* per rep `--page-open` open or accepted assignments (30): two breached, three at risk, the rest on track,
  a quarter of those touched (a call logged); plus `--page-history` closed and rejected ones (20) over the
  past four weeks, first touched within the SLA and late; with the activities, routing decisions and SLA
  events the services would have written. Rows are written with `bulk_create` (this phase measures reading,
  not routing); their SLA times are set relative to now, not counted in business time;
* each rep's queue includes one of the leads with the most events in the world, for the workspace.

Then a child process (`python bench/pages_bench.py --measure PLAN`, the bench's environment: DEBUG=False,
the bench database) serves the pages with Django's test `Client`: the whole request through the
middleware, the view, its queries and the template, in one process with a persistent database
connection, as a gunicorn worker runs it, minus the socket. Each page gets `--page-warmup` (5) untimed
requests, then `--page-requests` (50) timed ones with `time.perf_counter()` around `client.get()`:

* `queue_page_p95_ms`: `/queue/` (routing:queue) as the reps, in turn;
* `lead_page_p95_ms`: `/leads/<id>/` (routing:lead_workspace) as each rep, for their lead with the most
  events;
* `manager_board_p95_ms`: `/manager/` (routing:board) as the manager of all the reps (five teams of ten).

`<page>_p50_ms`, `_max_ms` and `_queries` (statements of one request) are printed beside them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE_TARGET_MS = 150
TEAM_SIZE = 10
TIME_ZONES = ("Europe/Berlin", "America/New_York", "Europe/London", "America/Chicago", "Asia/Singapore")
WEEKDAYS = {str(day): [["09:00", "12:30"], ["13:30", "17:30"]] for day in range(5)}
BENCH_PREFIX = "bench-"
PAGES = (
    # (figure prefix, URL name)
    ("queue_page", "routing:queue"),
    ("lead_page", "routing:lead_workspace"),
    ("manager_board", "routing:board"),
)


def add_pages_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--page-reps", type=int, default=50, help="Reps of the page benchmark (50).")
    parser.add_argument("--page-open", type=int, default=30, help="Open or accepted assignments per rep (30).")
    parser.add_argument("--page-history", type=int, default=20, help="Closed and rejected ones per rep (20).")
    parser.add_argument("--page-requests", type=int, default=50, help="Timed requests per page (50).")
    parser.add_argument("--page-warmup", type=int, default=5, help="Untimed requests per page first (5).")


def option(options, name: str):
    if hasattr(options, name):
        return getattr(options, name)
    defaults = argparse.ArgumentParser()
    add_pages_arguments(defaults)
    return getattr(defaults.parse_args([]), name)


def pages_figures(options, figures, work: Path, env: dict) -> None:
    """Prepare the org and its assignments (in the harness's Django process), then time the pages in a
    child process."""
    started = time.monotonic()
    plan = pages_world_prepare(
        reps=option(options, "page_reps"),
        open_per_rep=option(options, "page_open"),
        history_per_rep=option(options, "page_history"),
    )
    figures["pages_build_seconds"] = time.monotonic() - started
    figures["pages_reps"] = len(plan["reps"])
    figures["pages_open_assignments"] = plan["open_assignments"]
    figures["pages_history_assignments"] = plan["history_assignments"]
    figures["pages_workspace_lead_events_min"] = plan["workspace_events_min"]
    plan["requests"] = option(options, "page_requests")
    plan["warmup"] = option(options, "page_warmup")
    plan_path = work / "pages-plan.json"
    plan_path.write_text(json.dumps(plan))
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure", str(plan_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the page measurement failed:\n{result.stderr[-3000:]}")
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    for prefix, _ in PAGES:
        for name, value in measured[prefix].items():
            figures[f"{prefix}_{name}"] = value
    met = [measured[prefix]["p95_ms"] < PAGE_TARGET_MS for prefix, _ in PAGES]
    at_scale = figures["full_rescore_leads"] >= 100_000 if "full_rescore_leads" in figures else None
    verdict = ("yes" if all(met) else f"no (target {PAGE_TARGET_MS} ms)") if met else "n/a"
    if at_scale is False:
        verdict += " (the target is for 100k leads, 2M events)"
    figures["pages_p95_target_met"] = verdict


# --- The org and its work, in bulk -------------------------------------------------------------


def _routing_state_clear() -> None:
    """A previous run's org and every assignment (the full rescore may have queued some, with no rep)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from routing.models import Assignment, HolidayCalendar, Queue, Rep, RoutingRule, SlaPolicy, Team, Territory

    tables = [model._meta.db_table for model in (Assignment, RoutingRule, Queue, Rep, Team, Territory)]
    tables += [HolidayCalendar._meta.db_table, SlaPolicy._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")  # noqa: S608 - our own table names
    get_user_model().objects.filter(username__startswith=BENCH_PREFIX).delete()


def pages_world_prepare(*, reps: int, open_per_rep: int, history_per_rep: int) -> dict:
    """The sales org and its assignments; returns the plan the measuring process reads."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    from leads.models import Stage
    from leads.services.roles import roles_sync
    from qualify_site.roles import Role
    from routing.models import HolidayCalendar, Queue, QueueMember, Rep, RoutingRule, SlaPolicy, Team

    _routing_state_clear()
    roles_sync()
    user_model = get_user_model()
    now = timezone.now()
    with transaction.atomic():
        manager = user_model(username=f"{BENCH_PREFIX}manager", first_name="Morgan", last_name="Lee", is_staff=True)
        manager.set_unusable_password()
        manager.save()
        manager.groups.add(Group.objects.get(name=Role.MANAGER.value))
        users = []
        for number in range(reps):
            user = user_model(username=f"{BENCH_PREFIX}rep{number:03d}", first_name="Rep", last_name=f"{number:03d}")
            user.set_unusable_password()
            users.append(user)
        users = user_model.objects.bulk_create(users)
        rep_group = Group.objects.get(name=Role.REP.value)
        rep_group.user_set.add(*users)
        calendar = HolidayCalendar.objects.create(name="Bench holidays")
        teams = [Team.objects.create(name=f"Bench team {n + 1}", manager=manager) for n in range(-(-reps // TEAM_SIZE))]
        rep_rows = Rep.objects.bulk_create(
            Rep(
                user=user,
                team=teams[number // TEAM_SIZE],
                time_zone=TIME_ZONES[number % len(TIME_ZONES)],
                capacity=open_per_rep + 20,
                working_hours=WEEKDAYS,
                holiday_calendar=calendar,
            )
            for number, user in enumerate(users)
        )
        queues = [Queue.objects.create(name=f"Bench queue {n + 1}", team=team) for n, team in enumerate(teams)]
        Queue.objects.create(name="Bench fallback", is_fallback=True)
        QueueMember.objects.bulk_create(
            QueueMember(queue=queues[number // TEAM_SIZE], rep=rep) for number, rep in enumerate(rep_rows)
        )
        for position, queue in enumerate(queues):
            RoutingRule.objects.create(name=f"Bench rule {position + 1}", position=position, queue=queue)
        policies = {
            stage: SlaPolicy.objects.create(
                name=f"{stage} normal", stage=stage, first_touch_minutes=240, warning_minutes=180
            )
            for stage in (Stage.MQL, Stage.PQL, Stage.NEW)
        }

    # The leads with the most events go first, one to each rep, for the workspace; then scored leads,
    # qualified ones and high scores first, as routing would have sent them.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lead_id, count(*) FROM leads_event WHERE lead_id IS NOT NULL"
            " GROUP BY lead_id ORDER BY count(*) DESC, lead_id LIMIT %s",
            [reps],
        )
        heavy = cursor.fetchall()
        wanted = reps * (open_per_rep + history_per_rep) - len(heavy)
        cursor.execute(
            "SELECT l.id, l.stage FROM leads_lead l JOIN scoring_leadscore s ON s.lead_id = l.id"
            " WHERE l.merged_into_id IS NULL AND NOT (l.id = ANY(%s))"
            " ORDER BY (l.stage IN ('mql', 'pql')) DESC, s.total DESC, l.id LIMIT %s",
            [[lead_id for lead_id, _ in heavy], wanted],
        )
        scored = cursor.fetchall()
        cursor.execute("SELECT id, stage FROM leads_lead WHERE id = ANY(%s)", [[lead_id for lead_id, _ in heavy]])
        stages = dict(cursor.fetchall())
    pool = [(lead_id, stages[lead_id]) for lead_id, _ in heavy] + scored
    counts = _assignments_write(
        reps=rep_rows,
        queues=queues,
        policies=policies,
        pool=pool,
        heavy=len(heavy),
        open_per_rep=open_per_rep,
        history_per_rep=history_per_rep,
        now=now,
    )
    # Fresh statistics for the planner, as autovacuum's analyze gives a live database after
    # writes like these (without them it guesses, e.g. that half the scores fell below threshold).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "reps": [user.username for user in users],
        "manager": manager.username,
        "workspace": [[users[n].username, lead_id] for n, (lead_id, _) in enumerate(heavy)],
        "workspace_events_min": min((events for _, events in heavy), default=0),
        **counts,
    }


def _assignments_write(*, reps, queues, policies, pool, heavy, open_per_rep, history_per_rep, now) -> dict:
    """Each rep's queue and history, with what the services would have written beside them."""
    from django.db import transaction

    from leads.models import Stage
    from routing.models import (
        Activity,
        ActivityKind,
        Assignment,
        AssignmentStatus,
        RoutingDecision,
        RoutingTrigger,
        SlaEvent,
        SlaEventKind,
    )

    minute = timedelta(minutes=1)
    heavy_leads, rest = iter(pool[:heavy]), iter(pool[heavy:])
    assignments: list[Assignment] = []
    for number, rep in enumerate(reps):
        queue = queues[number // TEAM_SIZE]
        for slot in range(open_per_rep + history_per_rep):
            lead = next(heavy_leads, None) if slot == open_per_rep - 1 else None
            lead = lead or next(rest, None)
            if lead is None:
                break
            lead_id, stage = lead
            policy = policies.get(stage, policies[Stage.MQL])
            row = Assignment(lead_id=lead_id, rep=rep, queue=queue, sla_policy=policy, status=AssignmentStatus.OPEN)
            if slot < open_per_rep:
                _open_timing(row, slot=slot, now=now, minute=minute)
            else:
                _history_timing(row, slot=slot - open_per_rep, now=now, minute=minute)
            assignments.append(row)
    with transaction.atomic():
        Assignment.objects.bulk_create(assignments, batch_size=1000)
        activities, decisions, sla_events = [], [], []
        for row in assignments:
            user_id = row.rep.user_id
            decisions.append(
                RoutingDecision(
                    lead_id=row.lead_id,
                    decided_at=row.assigned_at,
                    trigger=RoutingTrigger.QUALIFIED,
                    queue_id=row.queue_id,
                    rep_id=row.rep_id,
                    assignment=row,
                    summary=f"Queue {row.queue.name}: {row.rep.user.username} chosen by round robin",
                    audit={"method": "rule", "reason": "bench: written in bulk", "rules": [], "reps": []},
                )
            )
            activities.append(
                Activity(lead_id=row.lead_id, assignment=row, kind=ActivityKind.ASSIGNED, at=row.assigned_at)
            )
            if row.at_risk_at:
                sla_events.append(SlaEvent(assignment=row, kind=SlaEventKind.AT_RISK, at=row.at_risk_at))
            if row.breached_at:
                sla_events.append(SlaEvent(assignment=row, kind=SlaEventKind.BREACHED, at=row.breached_at))
                activities.append(
                    Activity(
                        lead_id=row.lead_id,
                        assignment=row,
                        kind=ActivityKind.SLA,
                        at=row.breached_at,
                        notes=f"First touch was due {row.due_at:%Y-%m-%d %H:%M} UTC: SLA breached.",
                    )
                )
            if row.accepted_at:
                activities.append(
                    Activity(
                        lead_id=row.lead_id,
                        assignment=row,
                        kind=ActivityKind.ACCEPTED,
                        actor_id=user_id,
                        at=row.accepted_at,
                    )
                )
            if row.first_touch_at:
                activities.append(
                    Activity(
                        lead_id=row.lead_id,
                        assignment=row,
                        kind=ActivityKind.CALL,
                        actor_id=user_id,
                        at=row.first_touch_at,
                        notes="Intro call",
                    )
                )
            if row.status in (AssignmentStatus.REJECTED, AssignmentStatus.CLOSED):
                kind = ActivityKind.REJECTED if row.status == AssignmentStatus.REJECTED else ActivityKind.CONVERTED
                activities.append(
                    Activity(
                        lead_id=row.lead_id,
                        assignment=row,
                        kind=kind,
                        actor_id=user_id,
                        at=row.closed_at,
                        notes=row.close_reason,
                    )
                )
        RoutingDecision.objects.bulk_create(decisions, batch_size=1000)
        Activity.objects.bulk_create(activities, batch_size=1000)
        SlaEvent.objects.bulk_create(sla_events, batch_size=1000)
    is_open = [row.status in (AssignmentStatus.OPEN, AssignmentStatus.ACCEPTED) for row in assignments]
    return {"open_assignments": sum(is_open), "history_assignments": len(assignments) - sum(is_open)}


def _open_timing(row, *, slot: int, now, minute) -> None:
    """Two breached, three at risk, the rest on track; a quarter of those touched, half of them accepted."""
    from routing.models import AssignmentStatus

    if slot < 2:
        row.due_at = now - (40 + 90 * slot) * minute
        row.breached_at = row.due_at + minute
    elif slot < 5:
        row.due_at = now + (10 * slot - 10) * minute
    else:
        row.due_at = now + (70 + 25 * slot) * minute
    row.assigned_at = row.due_at - 240 * minute
    row.warn_at = row.due_at - 60 * minute
    if row.warn_at <= now:
        row.at_risk_at = row.warn_at + minute
    if slot >= 5 and slot % 4 == 0:
        row.first_touch_at = row.assigned_at + 20 * minute
        row.at_risk_at = None
        if slot % 8 == 0:
            row.status = AssignmentStatus.ACCEPTED
            row.accepted_at = row.first_touch_at - 2 * minute


def _history_timing(row, *, slot: int, now, minute) -> None:
    """Over the past four weeks: first touched within the SLA (two in three) or late; converted or rejected."""
    from routing.models import AssignmentStatus

    row.assigned_at = now - timedelta(days=1 + slot * 27 / 20, hours=slot % 7)
    row.warn_at = row.assigned_at + 180 * minute
    row.due_at = row.assigned_at + 240 * minute
    is_late = slot % 3 == 2
    row.first_touch_at = row.assigned_at + ((300 + 60 * slot) if is_late else (10 + 9 * slot)) * minute
    if is_late:
        row.at_risk_at, row.breached_at = row.warn_at, row.due_at
    row.accepted_at = row.first_touch_at - 2 * minute
    row.closed_at = row.first_touch_at + 3 * 60 * minute
    if slot % 2:
        row.status, row.close_reason = AssignmentStatus.REJECTED, "No budget this year"
    else:
        row.status, row.close_reason = AssignmentStatus.CLOSED, "Converted to SQL"


# --- Measuring, in a child process ---------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def measure(plan: dict) -> dict:
    """Time every page; {prefix: {p50_ms, p95_ms, max_ms, requests, queries}}."""
    import gc

    import django

    django.setup()
    # As a gunicorn worker does after loading the app (qualify_site/gunicorn_config.py post_worker_init).
    gc.freeze()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    users = {user.username: user for user in get_user_model().objects.filter(username__startswith=BENCH_PREFIX)}
    clients: dict[str, Client] = {}

    def client_for(username: str) -> Client:
        if username not in clients:
            # ALLOWED_HOSTS is production's here: ask as the loopback host gunicorn would see.
            clients[username] = Client(HTTP_HOST="127.0.0.1")
            clients[username].force_login(users[username])
        return clients[username]

    requests: dict[str, list[tuple[str, str]]] = {
        "queue_page": [(username, reverse("routing:queue")) for username in plan["reps"]],
        "lead_page": [
            (username, reverse("routing:lead_workspace", args=[lead_id])) for username, lead_id in plan["workspace"]
        ],
        "manager_board": [(plan["manager"], reverse("routing:board"))],
    }

    results: dict[str, dict] = {}
    for prefix, _ in PAGES:
        targets = requests[prefix]
        # Every user signs in before the clock starts: a sign-in writes a session, which no page view does.
        for username, _ in targets:
            client_for(username)

        def get(index: int, targets=targets):
            username, url = targets[index % len(targets)]
            response = client_for(username).get(url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} as {username}: {response.status_code}")
            return response

        for index in range(plan["warmup"]):
            get(index)
        timings = []
        for index in range(plan["requests"]):
            started = time.perf_counter()
            get(index)
            timings.append(1000 * (time.perf_counter() - started))
        with CaptureQueriesContext(connection) as queries:
            get(0)
        results[prefix] = {
            "p50_ms": round(percentile(timings, 0.5), 1),
            "p95_ms": round(percentile(timings, 0.95), 1),
            "max_ms": round(max(timings), 1),
            "requests": len(timings),
            "queries": len(queries),
        }
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Time the pages (run by bench/run.py in the bench's environment).")
    parser.add_argument("--measure", type=Path, required=True, help="The plan pages_figures wrote.")
    options = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualify_site.settings")
    print(json.dumps(measure(json.loads(options.measure.read_text()))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
