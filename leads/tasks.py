"""Thin Celery tasks: take ids, call a service.

Processing a batch is the pipeline's first step: pipeline.tasks.events_process_task.
"""

import logging

from celery import shared_task
from django.conf import settings

from leads.services.dead_letters import unprocessed_batches_sweep

logger = logging.getLogger(__name__)


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
