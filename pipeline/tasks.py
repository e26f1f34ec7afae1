"""The pipeline, in order: events processed → leads marked and rescored → qualified and
hot leads routed → SLA clock started.

This is the one module that knows the order (README.md beside it). Each step is a
service of the app that owns it; the apps below call nothing up here: they start
the pipeline by naming its tasks (qualify_site.enqueue), and the tasks hand each
step's result to the next. Every step is idempotent in its service (claims with
SKIP LOCKED, state guards, unique constraints), which is what makes `acks_late`
and a broker that delivers twice safe; follow-up work is published only once
what it follows is committed.
"""

import logging

import structlog
from celery import shared_task
from django.core.cache import cache
from django.db import transaction

from leads.services.dead_letters import RETRYABLE_DATABASE_ERRORS, batch_process_or_set_aside
from qualify_site.enqueue import enqueue_now
from routing.models import RoutingTrigger
from routing.services.assignments import leads_mark_hot, leads_route
from routing.tasks import leads_route_task
from scoring import services as scoring

logger = logging.getLogger(__name__)

# A publish's rescore: routing happens in tasks of this many leads.
ROUTE_CHUNK = 200
RESUMED_BY_DRAIN = "the periodic drain (stalled rescores resume)"

# Leads one drain task scores before handing the rest to a fresh task, so a
# big backlog never holds one task (and its time limit) for long.
DRAIN_LIMIT = 5_000

# While a drain is queued, batches processed meanwhile need no drain of their
# own: the queued one takes every lead marked before it starts. Under a steady
# stream of small batches this turns one drain per batch into one per burst.
DRAIN_SCHEDULED_KEY = "scoring:drain-scheduled"
DRAIN_SCHEDULED_TTL_SECONDS = 10  # a lost drain blocks new ones this long at most (beat drains too)

EVENTS_PROCESS_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    # Only transient database trouble (connection lost, deadlock, failover) is
    # worth retrying; anything else sets the batch aside (see dead_letters).
    "autoretry_for": RETRYABLE_DATABASE_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 10,
    "soft_time_limit": 120,
    "time_limit": 180,
}
DRAIN_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "soft_time_limit": 240, "time_limit": 300}
RESCORE_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}


# --- 1. Events processed, 2. leads marked for rescoring -----------------------------------


@shared_task(**EVENTS_PROCESS_OPTIONS)
def events_process_task(batch_id: str) -> int:
    # Every line of this task, and of the tasks it enqueues, names the batch (as the request's did).
    structlog.contextvars.bind_contextvars(batch_id=batch_id)
    processed = batch_process_or_set_aside(batch_id=batch_id)
    # Incremental scoring: mark what the batch touched; a drain task scores each
    # marked lead once, however many batches touched it meanwhile. Marking runs
    # even when the batch was already processed, so a worker lost between the
    # two steps (the task is redelivered) still gets the leads rescored.
    with transaction.atomic():
        if scoring.leads_mark_for_rescore(batch_id=batch_id):
            transaction.on_commit(pending_rescore_drain_soon)
    return processed


# --- 2. Leads rescored, then 3. routed ---------------------------------------------------


def pending_rescore_drain_soon() -> None:
    """Enqueue a drain unless one is already waiting to run. Call after commit."""
    try:
        if not cache.add(DRAIN_SCHEDULED_KEY, 1, timeout=DRAIN_SCHEDULED_TTL_SECONDS):
            return
    except Exception:  # noqa: BLE001 - without the cache, drain every time rather than never
        logger.warning("cache unavailable: enqueuing a drain anyway", exc_info=True)
    # The marks are committed (PendingRescore): the periodic drain scores them if this is lost.
    enqueue_now(pending_rescore_drain_task, recovered_by="the periodic drain (beat)")


@shared_task(**DRAIN_OPTIONS)
def pending_rescore_drain_task() -> int:
    # Cleared before claiming: a lead marked from now on gets a drain of its own.
    try:
        cache.delete(DRAIN_SCHEDULED_KEY)
    except Exception:  # noqa: BLE001 - the TTL clears it anyway
        logger.warning("cache unavailable: drain flag left to expire", exc_info=True)
    result = scoring.pending_rescore_drain(limit=DRAIN_LIMIT)
    if result.scored >= DRAIN_LIMIT:
        enqueue_now(pending_rescore_drain_task, recovered_by="the periodic drain (beat)")
    rescored_leads_route(result)
    _stalled_rescore_resume()
    return result.scored


def _stalled_rescore_resume() -> None:
    # Here because beat runs the drain every minute: a publish whose rescore was lost
    # (Redis down at publish, slices lost) is resumed within RESCORE_STALLED_AFTER.
    version_id = scoring.rescore_stalled_claim()
    if version_id is not None:
        logger.warning("the rescore of rule version %s stopped moving (its tasks were lost): resuming it", version_id)
        enqueue_now(rescore_all_task, version_id, recovered_by=RESUMED_BY_DRAIN)


# --- 3. Qualified and hot leads routed, 4. SLA clock started ------------------------------


def rescored_leads_route(result: scoring.RescoreResult) -> None:
    """Route what a rescore qualified or made hot, right here rather than in another task:
    the time from the qualifying event to the rep's assignment is what reps and managers
    feel. Each assignment carries the SLA due time of the routing decision, so the clock
    starts with it. A failure here is picked up by routing's unrouted-leads sweep."""
    if result.qualified_lead_ids:
        leads_route(lead_ids=result.qualified_lead_ids, trigger=RoutingTrigger.QUALIFIED)
    if result.hot_lead_ids:
        leads_mark_hot(lead_ids=result.hot_lead_ids)
        leads_route(lead_ids=result.hot_lead_ids, trigger=RoutingTrigger.HOT)


# --- After a publish: every lead rescored in slices, then routed --------------------------


@shared_task(**RESCORE_OPTIONS)
def rescore_all_task(version_id: int) -> int:
    # Only the leads the version has not scored yet: the same task resumes a stalled rescore.
    ranges = scoring.rescore_ranges(version_id=version_id)
    if not ranges:
        scoring.rescore_progress_update(version_id=version_id, is_complete=True)
        return 0
    for first_id, last_id in ranges:
        # Broker down: stop publishing; the rescore stalls and the periodic drain resumes it.
        if not enqueue_now(rescore_range_task, version_id, first_id, last_id, recovered_by=RESUMED_BY_DRAIN):
            break
    return len(ranges)


@shared_task(**RESCORE_OPTIONS)
def rescore_range_task(version_id: int, first_id: int, last_id: int) -> int:
    result = scoring.rescore_range(version_id=version_id, first_id=first_id, last_id=last_id)
    # A publish can qualify thousands of leads at once: route them in their own
    # tasks (queued behind the remaining slices) so the rescore finishes first
    # and routing work spreads over the workers.
    for trigger, lead_ids in (
        (RoutingTrigger.QUALIFIED, result.qualified_lead_ids),
        (RoutingTrigger.HOT, result.hot_lead_ids),
    ):
        for start in range(0, len(lead_ids), ROUTE_CHUNK):
            chunk = list(lead_ids[start : start + ROUTE_CHUNK])
            # Qualified and hot leads without an assignment are what the unrouted-leads sweep routes.
            if not enqueue_now(leads_route_task, chunk, trigger, recovered_by="the unrouted-leads sweep"):
                break
    if result.hot_lead_ids:
        leads_mark_hot(lead_ids=result.hot_lead_ids)
    return result.scored


# --- The names these tasks had before they moved here --------------------------------------
# Messages queued before a deploy (and beat entries of a schedule not yet reloaded) name
# the tasks where they used to live. Each old name stays registered, with the same
# options, and runs the task in this worker: nothing acknowledged is ever lost.


@shared_task(name="leads.tasks.events_process_task", **EVENTS_PROCESS_OPTIONS)
def events_process_task_under_old_name(batch_id: str) -> int:
    return events_process_task(batch_id)


@shared_task(name="scoring.tasks.pending_rescore_drain_task", **DRAIN_OPTIONS)
def pending_rescore_drain_task_under_old_name() -> int:
    return pending_rescore_drain_task()


@shared_task(name="scoring.tasks.rescore_all_task", **RESCORE_OPTIONS)
def rescore_all_task_under_old_name(version_id: int) -> int:
    return rescore_all_task(version_id)


@shared_task(name="scoring.tasks.rescore_range_task", **RESCORE_OPTIONS)
def rescore_range_task_under_old_name(version_id: int, first_id: int, last_id: int) -> int:
    return rescore_range_task(version_id, first_id, last_id)
