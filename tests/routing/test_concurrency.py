"""Several processes route at once against PostgreSQL: capacity is never exceeded,
no turn is given twice, each lead gets one assignment."""

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from routing.models import Assignment, AssignmentStatus, QueueMember, Team
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
