"""Thin Celery tasks: take ids, call a service."""

import logging

import structlog
from celery import shared_task
from django.conf import settings
from django.db import transaction

from leads.services.dead_letters import RETRYABLE_DATABASE_ERRORS, batch_process_or_set_aside, unprocessed_batches_sweep
from scoring.services import leads_mark_for_rescore
from scoring.tasks import pending_rescore_drain_soon

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    # Only transient database trouble (connection lost, deadlock, failover) is
    # worth retrying; anything else sets the batch aside (see dead_letters).
    autoretry_for=RETRYABLE_DATABASE_ERRORS,
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
    processed = batch_process_or_set_aside(batch_id=batch_id)
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
    unprocessed events, with SKIP LOCKED. Bounded per batch and per sweep, and
    set-aside batches are skipped: see leads.services.dead_letters.
    """
    batch_ids = unprocessed_batches_sweep(older_than_seconds=settings.INGEST_SWEEP_AFTER_SECONDS)
    if batch_ids:
        logger.warning("sweeper re-enqueued %s batch(es) with unprocessed events", len(batch_ids))
    return len(batch_ids)
