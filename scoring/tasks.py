"""Thin tasks: take ids, call a service. Idempotent, so redelivery is harmless.

Only scoring's own work lives here. The rescores that hand qualified leads on to
routing (the incremental drain, a publish's full rescore) are the pipeline's:
pipeline/tasks.py.
"""

from datetime import timedelta

from celery import shared_task

from qualify_site.enqueue import enqueue_on_commit
from scoring import services

# A refresh of decayed scores looks at this many leads at most per run.
STALE_SCORE_BATCH = 20_000
# Accounts rolled up again per run because a lead's stage moved since (by hand, by an outcome).
MOVED_ACCOUNTS_BATCH = 5_000


@shared_task(acks_late=True, reject_on_worker_lost=True)
def leads_rescore_task(lead_ids: list[int]) -> int:
    return services.leads_rescore(lead_ids=lead_ids).scored


@shared_task
def scores_refresh_stale_task() -> int:
    """Windows and decay change scores with no new events: rescore those leads."""
    # The accounts whose leads moved stage since their roll-up: their stage follows (no event read).
    services.accounts_roll_up_again(account_ids=services.accounts_with_stage_moves(limit=MOVED_ACCOUNTS_BATCH))
    lead_ids = services.stale_score_lead_ids(older_than=timedelta(hours=6), limit=STALE_SCORE_BATCH)
    chunk = services.RESCORE_CHUNK_SIZE
    for start in range(0, len(lead_ids), chunk):
        ids = lead_ids[start : start + chunk]
        enqueue_on_commit(leads_rescore_task, ids, recovered_by="the next refresh (the leads stay stale until then)")
    return len(lead_ids)
