"""Thin Celery tasks: take ids, call a service."""

import logging

import structlog
from celery import shared_task
from django.conf import settings
from django.db import OperationalError, transaction

from leads.selectors_identity import unprocessed_batch_id_list
from leads.services.identity import events_process_batch
from scoring.services import leads_mark_for_rescore
from scoring.tasks import pending_rescore_drain_soon

logger = logging.getLogger(__name__)

SWEEP_MAX_BATCHES = 500


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    # Only transient database trouble (connection lost, deadlock, failover) is
    # worth retrying; anything else is a bug and the sweeper would just repeat it.
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=10,
    soft_time_limit=120,
    time_limit=180,
)
def events_process_task(batch_id: str) -> int:
    # Every line of this task, and of the tasks it enqueues, names the batch (as the request's did).
    structlog.contextvars.bind_contextvars(batch_id=batch_id)
    processed = events_process_batch(batch_id=batch_id)
    # Incremental scoring: mark what the batch touched; a drain task scores each
    # marked lead once, however many batches touched it meanwhile. Marking runs
    # even when the batch was already processed, so a worker lost between the
    # two steps (the task is redelivered) still gets the leads rescored.
    with transaction.atomic():
        if leads_mark_for_rescore(batch_id=batch_id):
            transaction.on_commit(pending_rescore_drain_soon)
    return processed


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def events_sweep_unprocessed_task() -> int:
    """Re-enqueue batches whose events were left unprocessed (broker down, worker killed, task lost).

    Harmless when the original task is merely slow: processing claims only
    unprocessed events, with SKIP LOCKED.
    """
    batch_ids = unprocessed_batch_id_list(
        older_than_seconds=settings.INGEST_SWEEP_AFTER_SECONDS, limit=SWEEP_MAX_BATCHES
    )
    for batch_id in batch_ids:
        transaction.on_commit(lambda batch_id=batch_id: events_process_task.delay(batch_id))
    if batch_ids:
        logger.warning("sweeper re-enqueued %s batch(es) with unprocessed events", len(batch_ids))
    return len(batch_ids)
