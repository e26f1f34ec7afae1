"""Thin tasks: take ids, call a service. Idempotent (state guards in the services)."""

import logging

from celery import shared_task
from django.db.models import Exists, OuterRef

from leads.models import Stage
from routing.models import Assignment, AssignmentStatus, RoutingTrigger
from routing.notifications import WebhookError, webhook_send
from routing.selectors.policy import leads_without_active_assignment
from routing.services import assignments, sla
from routing.services.notices import notice_email_once, notice_for
from routing.services.outcomes import outcomes_link_unmatched
from scoring.models import LeadScore

logger = logging.getLogger(__name__)

UNROUTED_BATCH = 500


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=120, time_limit=180)
def leads_route_task(lead_ids: list[int], trigger: str) -> int:
    return len(assignments.leads_route(lead_ids=lead_ids, trigger=trigger))


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def leads_route_unrouted_task() -> int:
    """Safety net and waiting list: qualified or hot leads with no active assignment
    get routed; parked ones get a rep once one is available."""
    is_hot = LeadScore.objects.filter(lead_id=OuterRef("pk"), is_hot=True)
    leads = leads_without_active_assignment()
    qualified = leads.filter(stage__in=[Stage.MQL, Stage.PQL]).values_list("id", flat=True)[:UNROUTED_BATCH]
    hot = leads.filter(Exists(is_hot), stage=Stage.NEW).values_list("id", flat=True)[:UNROUTED_BATCH]
    routed = len(assignments.leads_route(lead_ids=list(qualified), trigger=RoutingTrigger.QUALIFIED))
    routed += len(assignments.leads_route(lead_ids=list(hot), trigger=RoutingTrigger.HOT))
    waiting = (
        Assignment.objects.filter(status=AssignmentStatus.WAITING)
        .order_by("created_at")
        .values_list("id", flat=True)[:UNROUTED_BATCH]
    )
    for assignment_id in waiting:
        if assignments.assignment_assign_waiting(assignment_id=assignment_id) is not None:
            routed += 1
    return routed


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def sla_sweep_task() -> dict:
    result = sla.sla_sweep()
    return {"at_risk": len(result.at_risk), "breached": len(result.breached), "notices_resent": result.notices_resent}


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def outcomes_link_unmatched_task() -> int:
    return outcomes_link_unmatched()


@shared_task(
    acks_late=True,
    autoretry_for=(WebhookError,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
    soft_time_limit=30,
    time_limit=45,
    bind=True,
)
def notice_send_task(self, kind: str, assignment_id: int) -> bool:
    # A retry is for the webhook: the email went out, and the notice was claimed, on the first attempt.
    if self.request.retries == 0:
        notice = notice_email_once(kind=kind, assignment_id=assignment_id)
    else:
        notice = notice_for(kind=kind, assignment_id=assignment_id)
    if notice is None:
        return False
    webhook_send(notice)
    return True
