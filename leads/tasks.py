"""Thin Celery tasks: take ids, call a service. IMPLEMENTED BY THE PROCESSING WORK."""

from celery import shared_task

from leads.services.identity import events_process_batch


@shared_task(acks_late=True, reject_on_worker_lost=True)
def events_process_task(batch_id: str) -> int:
    return events_process_batch(batch_id=batch_id)


@shared_task
def events_sweep_unprocessed_task() -> int:
    raise NotImplementedError
