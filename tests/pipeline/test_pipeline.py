"""The pipeline, end to end and in order: an ingested batch becomes a rep's assignment whose
SLA clock the routing decision started; and the tasks' old names still process messages."""

from datetime import datetime

import pytest
from django.conf import settings
from django.core.cache import cache

from leads.models import Event, Lead
from leads.services.ingest import EVENTS_PROCESS_TASK
from leads.services.sources import source_create
from pipeline.tasks import DRAIN_SCHEDULED_KEY
from qualify_site.celery import app
from qualify_site.enqueue import task_named
from routing.engine import WorkingHours, sla_times
from routing.models import Assignment, AssignmentStatus, RoutingDecision, Team
from routing.services.notices import NOTICE_SEND_TASK
from scoring.models import LeadScore, PendingRescore
from scoring.services import rule_version_install_default
from scoring.services.versions import RESCORE_ALL_TASK
from tests.routing.world import make_queue, make_rep, rep_user, rule, sla
from tests.worker_utils import ingest

pytestmark = [pytest.mark.django_db]

# Monday to Friday, 09:00-17:00 in New York: the SLA clock counts only those minutes.
NEW_YORK_HOURS = {str(day): [["09:00", "17:00"]] for day in range(5)}


def _hot_lead_messages(user_id: str, email: str) -> list[dict]:
    """A free-mail enthusiast: too little fit for an MQL, but hot (demo, trial, pricing page)."""
    messages = [{"type": "identify", "userId": user_id, "traits": {"email": email}}]
    for event, times in (("Demo Requested", 1), ("Form Submitted", 3), ("Webinar Attended", 2), ("Trial Started", 1)):
        messages += [{"type": "track", "userId": user_id, "event": event} for _ in range(times)]
    messages += [{"type": "page", "userId": user_id, "properties": {"path": "/pricing"}} for _ in range(3)]
    for number, message in enumerate(messages):
        message["messageId"] = f"{user_id}-{number}"
    return messages


@pytest.fixture
def org(django_user_model, django_capture_on_commit_callbacks):
    """Live default scoring rules, one queue for everyone, and a rep in New York office hours."""
    with django_capture_on_commit_callbacks(execute=True):
        rule_version_install_default()
    rep = make_rep(rep_user(django_user_model, "nia"), team=Team.objects.create(name="Sales"))
    rep.working_hours, rep.time_zone = NEW_YORK_HOURS, "America/New_York"
    rep.save()
    rule("Everyone", make_queue("Everyone", [rep]), 1)
    for stage in ("new", "mql", "pql"):
        sla(stage, minutes=60, warning=30, priority="normal")
        sla(stage, minutes=15, warning=10, priority="high")
    cache.delete(DRAIN_SCHEDULED_KEY)  # a drain flag left by another test would swallow this one's drain
    return rep


def test_an_ingested_batch_ends_as_an_assignment_whose_sla_clock_the_routing_decision_started(
    org, django_capture_on_commit_callbacks
):
    # given a source
    source, _ = source_create(name="Site", kind="marketing")

    # when a batch is ingested and the pipeline runs on commit (eager tasks, as a worker would)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(source, _hot_lead_messages("fan", "fan@gmail.com"))

    # then the events were processed, the lead rescored, routed to the rep ...
    assert not Event.objects.filter(processed_at__isnull=True).exists()
    lead = Lead.objects.get(email="fan@gmail.com")
    assert LeadScore.objects.get(lead=lead).is_hot
    assignment = Assignment.objects.get(lead=lead)
    assert assignment.rep == org and assignment.status == AssignmentStatus.OPEN
    # ... and the assignment's SLA clock is the decision's, in the rep's New York office hours
    decision = RoutingDecision.objects.get(assignment=assignment)
    policy = assignment.sla_policy
    warn_at, due_at = sla_times(
        assignment.assigned_at,
        policy.first_touch_minutes,
        policy.warning_minutes,
        WorkingHours.parse(NEW_YORK_HOURS),
        "America/New_York",
    )
    assert (assignment.warn_at, assignment.due_at) == (warn_at, due_at)
    assert datetime.fromisoformat(decision.audit["due_at"]) == assignment.due_at
    assert "business minutes (America/New_York)" in decision.audit["sla"]


@pytest.mark.parametrize(
    "old_name, new_name",
    [
        ("leads.tasks.events_process_task", "pipeline.tasks.events_process_task"),
        ("scoring.tasks.pending_rescore_drain_task", "pipeline.tasks.pending_rescore_drain_task"),
        ("scoring.tasks.rescore_all_task", "pipeline.tasks.rescore_all_task"),
        ("scoring.tasks.rescore_range_task", "pipeline.tasks.rescore_range_task"),
    ],
)
def test_a_task_that_moved_to_the_pipeline_is_still_registered_under_its_old_name_with_the_same_options(
    old_name, new_name
):
    old, new = app.tasks[old_name], app.tasks[new_name]

    for option in ("acks_late", "reject_on_worker_lost", "autoretry_for", "max_retries", "time_limit"):
        assert getattr(old, option, None) == getattr(new, option, None), option


def test_a_batch_queued_under_the_old_task_name_before_a_deploy_is_still_processed(org):
    # given a batch whose processing message names the task where it used to live
    source, _ = source_create(name="Site", kind="marketing")
    batch_id = ingest(source, _hot_lead_messages("old", "old@gmail.com"))

    # when a worker runs that message
    processed = app.tasks["leads.tasks.events_process_task"].apply(args=[batch_id]).get()

    # then the batch is processed and its lead marked for the pipeline's next step
    assert processed == len(_hot_lead_messages("old", "old@gmail.com"))
    assert not Event.objects.filter(processed_at__isnull=True).exists()
    assert PendingRescore.objects.filter(lead__email="old@gmail.com").exists()


def test_every_task_the_apps_name_instead_of_importing_is_registered():
    for name in (EVENTS_PROCESS_TASK, RESCORE_ALL_TASK, NOTICE_SEND_TASK):
        assert task_named(name).name == name


def test_every_beat_entry_names_a_registered_task_the_embedded_default_can_import():
    from django.utils.module_loading import import_string

    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert task_named(entry["task"]).name == entry["task"]
        assert import_string(entry["task"]).name == entry["task"]  # run_periodic imports it by name


def test_the_pipeline_runs_the_drain_that_the_old_beat_entry_named():
    # a beat process still on the old schedule keeps draining until it is restarted
    assert app.tasks["scoring.tasks.pending_rescore_drain_task"].apply().get() == 0  # nothing marked: none scored
