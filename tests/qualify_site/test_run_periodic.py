"""run_periodic: the beat schedule's tasks in-process, for the embedded default (`make demo`)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from leads.models import Stage
from routing.models import Assignment
from routing.services.assignments import lead_route
from tests.routing.world import make_lead, make_queue, make_rep, rep_user, rule, sla

pytestmark = [pytest.mark.django_db]

SLA_SWEEP = "routing.tasks.sla_sweep_task"
REFRESH = "scoring.tasks.scores_refresh_stale_task"


def _run(*args) -> str:
    out = StringIO()
    call_command("run_periodic", *args, stdout=out, stderr=out)
    return out.getvalue()


def _runs(output: str, name: str) -> int:
    return sum(line.startswith(f"{name}:") for line in output.splitlines())


def test_it_runs_each_task_once_per_interval(settings):
    # given one job due every round and one due hourly
    settings.CELERY_BEAT_SCHEDULE = {
        "sweep-sla": {"task": SLA_SWEEP, "schedule": 0},
        "refresh-decayed-scores": {"task": REFRESH, "schedule": timedelta(hours=1)},
    }

    # when
    output = _run("--iterations", "3")

    # then
    assert _runs(output, "sweep-sla") == 3
    assert _runs(output, "refresh-decayed-scores") == 1


def test_an_interval_runs_every_job_of_the_beat_schedule_at_least_that_often():
    # when
    output = _run("--interval", "0", "--iterations", "2")

    # then
    assert {name: _runs(output, name) for name in settings.CELERY_BEAT_SCHEDULE} == dict.fromkeys(
        settings.CELERY_BEAT_SCHEDULE, 2
    )


def test_a_round_flags_an_assignment_whose_first_touch_is_overdue(django_user_model):
    # given an assignment made two hours ago under a one-hour SLA
    sla(Stage.MQL, minutes=60, warning=30)
    rule("All", make_queue("Inbound", [make_rep(rep_user(django_user_model, "ann"))]), 1)
    lead = make_lead("late@acme.com")
    assignment = lead_route(lead_id=lead.id, trigger="qualified", now=timezone.now() - timedelta(hours=2))

    # when
    _run("--iterations", "1")

    # then
    assert Assignment.objects.get(id=assignment.id).breached_at is not None


def test_a_failing_job_is_reported_and_the_others_still_run(settings):
    # given
    settings.CELERY_BEAT_SCHEDULE = {
        "broken": {"task": "routing.tasks.notice_send_task", "schedule": 0},
        "sweep-sla": {"task": SLA_SWEEP, "schedule": 0},
    }

    # when (the notice task needs arguments the schedule does not give)
    output = _run("--iterations", "1")

    # then
    assert "broken failed" in output
    assert _runs(output, "sweep-sla") == 1


def test_a_schedule_that_is_not_in_seconds_is_refused_with_its_name(settings):
    settings.CELERY_BEAT_SCHEDULE = {"nightly": {"task": SLA_SWEEP, "schedule": "0 3 * * *"}}

    with pytest.raises(CommandError, match="nightly"):
        _run("--iterations", "1")
