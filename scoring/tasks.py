"""Thin tasks: take ids, call a service. Idempotent, so redelivery is harmless."""

import logging
from datetime import timedelta

from celery import shared_task
from django.core.cache import cache

from qualify_site.enqueue import enqueue_now, enqueue_on_commit
from routing.models import RoutingTrigger
from routing.services.assignments import leads_mark_hot, leads_route
from routing.tasks import leads_route_task
from scoring import services

logger = logging.getLogger(__name__)

# A full rescore fans out into slices of this many leads, one task each.
STALE_SCORE_BATCH = 20_000
ROUTE_CHUNK = 200
RESUMED_BY_DRAIN = "the periodic drain (stalled rescores resume)"


@shared_task(acks_late=True, reject_on_worker_lost=True)
def rescore_all_task(version_id: int) -> int:
    # Only the leads the version has not scored yet: the same task resumes a stalled rescore.
    ranges = services.rescore_ranges(version_id=version_id)
    if not ranges:
        services.rescore_progress_update(version_id=version_id, is_complete=True)
        return 0
    for first_id, last_id in ranges:
        # Broker down: stop publishing; the rescore stalls and the periodic drain resumes it.
        if not enqueue_now(rescore_range_task, version_id, first_id, last_id, recovered_by=RESUMED_BY_DRAIN):
            break
    return len(ranges)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def rescore_range_task(version_id: int, first_id: int, last_id: int) -> int:
    result = services.rescore_range(version_id=version_id, first_id=first_id, last_id=last_id)
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


@shared_task(acks_late=True, reject_on_worker_lost=True)
def leads_rescore_task(lead_ids: list[int]) -> int:
    return services.leads_rescore(lead_ids=lead_ids).scored


# Leads one drain task scores before handing the rest to a fresh task, so a
# big backlog never holds one task (and its time limit) for long.
DRAIN_LIMIT = 5_000


# While a drain is queued, batches processed meanwhile need no drain of their
# own: the queued one takes every lead marked before it starts. Under a steady
# stream of small batches this turns one drain per batch into one per burst.
DRAIN_SCHEDULED_KEY = "scoring:drain-scheduled"
DRAIN_SCHEDULED_TTL_SECONDS = 10  # a lost drain blocks new ones this long at most (beat drains too)


def pending_rescore_drain_soon() -> None:
    """Enqueue a drain unless one is already waiting to run. Call after commit."""
    try:
        if not cache.add(DRAIN_SCHEDULED_KEY, 1, timeout=DRAIN_SCHEDULED_TTL_SECONDS):
            return
    except Exception:  # noqa: BLE001 - without the cache, drain every time rather than never
        logger.warning("cache unavailable: enqueuing a drain anyway", exc_info=True)
    # The marks are committed (PendingRescore): the periodic drain scores them if this is lost.
    enqueue_now(pending_rescore_drain_task, recovered_by="the periodic drain (beat)")


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=240, time_limit=300)
def pending_rescore_drain_task() -> int:
    # Cleared before claiming: a lead marked from now on gets a drain of its own.
    try:
        cache.delete(DRAIN_SCHEDULED_KEY)
    except Exception:  # noqa: BLE001 - the TTL clears it anyway
        logger.warning("cache unavailable: drain flag left to expire", exc_info=True)
    result = services.pending_rescore_drain(limit=DRAIN_LIMIT)
    if result.scored >= DRAIN_LIMIT:
        enqueue_now(pending_rescore_drain_task, recovered_by="the periodic drain (beat)")
    _route(result)
    _stalled_rescore_resume()
    return result.scored


def _stalled_rescore_resume() -> None:
    # Here because beat runs the drain every minute: a publish whose rescore was lost
    # (Redis down at publish, slices lost) is resumed within RESCORE_STALLED_AFTER.
    version_id = services.rescore_stalled_claim()
    if version_id is not None:
        logger.warning("the rescore of rule version %s stopped moving (its tasks were lost): resuming it", version_id)
        enqueue_now(rescore_all_task, version_id, recovered_by=RESUMED_BY_DRAIN)


def _route(result: services.RescoreResult) -> None:
    # Routing right here, not in another task: the time from the qualifying
    # event to the rep's assignment is what reps and managers feel. A failure
    # here is picked up by routing's unrouted-leads sweep.
    if result.qualified_lead_ids:
        leads_route(lead_ids=result.qualified_lead_ids, trigger=RoutingTrigger.QUALIFIED)
    if result.hot_lead_ids:
        leads_mark_hot(lead_ids=result.hot_lead_ids)
        leads_route(lead_ids=result.hot_lead_ids, trigger=RoutingTrigger.HOT)


@shared_task
def scores_refresh_stale_task() -> int:
    """Windows and decay change scores with no new events: rescore those leads."""
    lead_ids = services.stale_score_lead_ids(older_than=timedelta(hours=6), limit=STALE_SCORE_BATCH)
    chunk = services.RESCORE_CHUNK_SIZE
    for start in range(0, len(lead_ids), chunk):
        ids = lead_ids[start : start + chunk]
        enqueue_on_commit(leads_rescore_task, ids, recovered_by="the next refresh (the leads stay stale until then)")
    return len(lead_ids)
