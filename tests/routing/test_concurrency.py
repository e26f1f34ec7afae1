"""Several processes (or threads, each with its own connection) route at once against
PostgreSQL: capacity is never exceeded, no turn is given twice, each lead gets one
assignment, and routing in groups never deadlocks with other groups or single leads."""

import logging
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from routing.models import Assignment, AssignmentStatus, QueueMember, RoutingDecision, Team
from routing.services.assignments import ROUTE_GROUP_SIZE, lead_route, leads_route
from tests.routing.world import make_account, make_lead, make_queue, make_rep, rep_user, rule

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _database_url() -> str:
    db = connection.settings_dict
    user, host, port = db["USER"] or "postgres", db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgresql://{user}@{host}:{port}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_respect_capacity_and_never_give_a_turn_twice(django_user_model):
    # given three reps with room for 20 open leads each, and 80 qualified leads
    team = Team.objects.create(name="Pool")
    reps = [make_rep(rep_user(django_user_model, f"rep{n}"), team=team, capacity=20) for n in range(3)]
    queue = make_queue("Pool", reps)
    rule("Everyone", queue, 1)
    lead_ids = [make_lead(f"p{n}@co{n}.io", account=make_account(f"co{n}.io")).id for n in range(80)]

    # when four processes route interleaved slices of them at the same time
    slices = [lead_ids[start::4] for start in range(4)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start_at = str(time.time() + 4)  # after every process has started Django
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests/routing/concurrent_worker.py"),
                _database_url(),
                ",".join(map(str, ids)),
                start_at,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for ids in slices
    ]
    results = [worker.communicate(timeout=120) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), [err[-2000:] for _, err in results]

    # then every lead has exactly one active assignment
    active = Assignment.objects.filter(status__in=[AssignmentStatus.OPEN, AssignmentStatus.WAITING])
    assert sorted(active.values_list("lead_id", flat=True)) == sorted(lead_ids)
    # no rep is over capacity, and the 60 slots are all used
    per_rep = Counter(active.filter(status=AssignmentStatus.OPEN).values_list("rep_id", flat=True))
    assert per_rep == {rep.id: 20 for rep in reps}
    assert active.filter(status=AssignmentStatus.WAITING).count() == 20
    # and the rotation counted each turn once
    counts = dict(QueueMember.objects.filter(queue=queue).values_list("rep_id", "assigned_count"))
    assert counts == dict(per_rep)


def _in_thread(work, errors: list) -> threading.Thread:
    """Run `work` on its own database connection, as another worker would."""

    def run():
        from django.db import connection as thread_connection

        try:
            work()
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            thread_connection.close()

    return threading.Thread(target=run)


@pytest.mark.django_db(transaction=True)
def test_concurrent_group_routings_over_the_same_leads_queues_and_reps_neither_deadlock_nor_overrun(
    django_user_model, settings, caplog
):
    # given three reps with room for 15 open leads each; the middle one works two queues,
    # the others own some accounts, and most accounts have several leads
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    team = Team.objects.create(name="Pool")
    reps = [make_rep(rep_user(django_user_model, f"rep{n}"), team=team, capacity=15) for n in range(3)]
    big = make_queue("Big", [reps[0], reps[1]])
    small = make_queue("Small", [reps[1], reps[2]], strategy="least_loaded")
    rule("Big accounts", big, 1, {"field": "account.employee_count", "op": "gte", "value": 1000})
    rule("Everyone else", small, 2)
    lead_ids = []
    for n in range(40):
        owner = (reps[0].user, reps[2].user, None, None)[n % 4]
        account = make_account(f"co{n}.io", employee_count=(50, 5000)[n % 2], owner=owner)
        lead_ids += [make_lead(f"p{m}@co{n}.io", account=account).id for m in range(3)]

    # when two workers route all of them in groups of the same leads, in opposite orders,
    # while a third routes every third lead on its own, all starting together
    size = ROUTE_GROUP_SIZE
    opposite = [lead_id for start in range(0, 120, size) for lead_id in reversed(lead_ids[start : start + size])]
    errors: list = []
    start = threading.Barrier(3)

    def group_routing(ids):
        start.wait()
        leads_route(lead_ids=ids, trigger="qualified")

    def one_by_one(ids):
        start.wait()
        for lead_id in ids:
            lead_route(lead_id=lead_id, trigger="qualified")

    with caplog.at_level(logging.WARNING, logger="routing.services.assignments"):
        threads = [
            _in_thread(lambda: group_routing(lead_ids), errors),
            _in_thread(lambda: group_routing(opposite), errors),
            _in_thread(lambda: one_by_one(lead_ids[1::3]), errors),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    # then nobody failed: no deadlock was detected, no group had to fall back to one by one
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert [record.getMessage() for record in caplog.records] == []
    # every lead has exactly one active assignment, and no rep holds more than their capacity
    active = Assignment.objects.filter(status__in=[AssignmentStatus.OPEN, AssignmentStatus.WAITING])
    assert sorted(active.values_list("lead_id", flat=True)) == sorted(lead_ids)
    per_rep = Counter(active.filter(status=AssignmentStatus.OPEN).values_list("rep_id", flat=True))
    assert per_rep == {rep.id: 15 for rep in reps}
    # and each queue turn was given once: per member, every turn starts from the count the
    # previous one stored (two leads given the same turn would start from the same count),
    # and the last one is what the rotation holds
    turns: dict = {}
    for decision in RoutingDecision.objects.order_by("id"):
        if turn := decision.audit["turn"]:
            turns.setdefault((turn["queue_id"], turn["rep_id"]), []).append(turn)
    stored = {(member.queue_id, member.rep_id): member.assigned_count for member in QueueMember.objects.all()}
    assert turns
    for member, taken in turns.items():
        assert [turn["previous_count"] for turn in taken[1:]] == [turn["assigned_count"] for turn in taken[:-1]]
        assert stored[member] == taken[-1]["assigned_count"]
