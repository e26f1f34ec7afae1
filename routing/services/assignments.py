"""Routing a lead to a rep: the one place assignments are created.

Lock order, everywhere: the lead, then the queue (its rotation), then the reps
in id order (their capacity). Under those locks the pure policy decides with
fresh state, so concurrent workers never exceed a rep's capacity and never
give two leads the same turn; the unique constraint on active assignments
keeps one per lead whatever happens above.
"""

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leads.models import Lead, Stage
from routing.engine import Decision, NoWorkingTimeError, decide, match_rule, sla_times
from routing.models import (
    ACTIVE_ASSIGNMENT_STATUSES,
    Activity,
    ActivityKind,
    Assignment,
    AssignmentStatus,
    Priority,
    Queue,
    QueueMember,
    Rep,
    RoutingDecision,
    RoutingTrigger,
    SlaPolicy,
)
from routing.permissions import check_can_manage
from routing.selectors import (
    engine_queues,
    queue_member_rep_ids,
    rep_states,
    rep_working_hours,
    reps_for_routing,
    routing_facts_for_lead,
    routing_policy_compiled,
)

logger = logging.getLogger(__name__)

# Stages a lead is routed in. Later stages are already being worked.
ROUTABLE_STAGES = (Stage.NEW, Stage.MQL, Stage.PQL)


@dataclass(frozen=True)
class RoutePreview:
    decision: Decision
    summary: str


def _notify_on_commit(kind: str, assignment_id: int) -> None:
    from routing.tasks import notice_send_task  # tasks import services: resolve at call time

    transaction.on_commit(lambda: notice_send_task.delay(kind, assignment_id))


def _locked_lead(lead_id: int) -> Lead:
    return (
        Lead.objects.select_for_update(of=("self",))
        .select_related("account", "source", "campaign", "score")
        .get(id=lead_id)
    )


def sla_policy_for(*, stage: str, priority: str) -> SlaPolicy | None:
    """The policy for the lead's stage and priority, else the stage's normal one."""
    policies = {(policy.stage, policy.priority): policy for policy in SlaPolicy.objects.filter(stage=stage)}
    return policies.get((stage, priority)) or policies.get((stage, Priority.NORMAL))


def _sla_clock(assignment: Assignment, rep: Rep, policy: SlaPolicy | None, now: datetime) -> None:
    assignment.sla_policy = policy
    if policy is None:
        return
    holidays = frozenset(h.date for h in rep.holiday_calendar.holidays.all()) if rep.holiday_calendar_id else ()
    try:
        assignment.warn_at, assignment.due_at = sla_times(
            now,
            policy.first_touch_minutes,
            policy.warning_minutes,
            rep_working_hours(rep),
            rep.time_zone,
            holidays,
        )
    except NoWorkingTimeError:
        # A rep with no working time at all cannot have a business-hours clock:
        # no due time rather than a wrong one (the admin validates hours).
        logger.error("rep %s has no working time; assignment without SLA clock", rep.id)


def _summary(lead: Lead, decision: Decision, rep: Rep | None) -> str:
    who = str(rep) if rep else "nobody yet (waiting)"
    return f"{lead} → {who}: {decision.reason}"[:300]


def _decide(lead: Lead, *, now: datetime, exclude_rep_ids=(), queue_id=None, compiled=None) -> tuple[Decision, dict]:
    compiled = compiled or routing_policy_compiled()
    facts = routing_facts_for_lead(lead)
    match = match_rule(compiled, facts)
    queue_ids = {queue_id or match.queue_id}
    if compiled.policy.overflow_to_fallback:
        queue_ids.add(compiled.policy.fallback_queue_id)
    queues = list(Queue.objects.select_for_update().filter(id__in=queue_ids).order_by("id"))
    rep_ids = queue_member_rep_ids(queue_ids)
    rep_ids.update(rep_id for rep_id in (facts.account_owner_id, *facts.account_rep_ids) if rep_id)
    rep_ids.difference_update(exclude_rep_ids)
    reps = reps_for_routing(rep_ids, lock=True)
    if queue_id is not None:
        # Reassignment within the same queue: the rules already chose it.
        match = type(match)(
            rule=match.rule if match.queue_id == queue_id else None,
            queue_id=queue_id,
            priority=match.priority,
            reason=match.reason if match.queue_id == queue_id else "same queue as before",
            checks=match.checks,
        )
        facts = type(facts)(
            lead=facts.lead, account=facts.account, score=facts.score, account_owner_id=None, lead_id=facts.lead_id
        )
    decision = decide(
        compiled, facts, queues=engine_queues(queues), reps=rep_states(reps, now=now), now=now, match=match
    )
    return decision, {rep.id: rep for rep in reps}


def _assign(
    lead: Lead,
    decision: Decision,
    reps: dict,
    *,
    trigger: str,
    actor,
    now: datetime,
    priority: str | None = None,
) -> Assignment:
    rep = reps.get(decision.rep_id)
    priority = priority or decision.priority
    assignment = Assignment(
        lead=lead,
        rep=rep,
        queue_id=decision.queue_id,
        rule_id=decision.rule_id,
        priority=priority,
        status=AssignmentStatus.WAITING if rep is None else AssignmentStatus.OPEN,
        assigned_at=now if rep else None,
    )
    if rep is not None:
        _sla_clock(assignment, rep, sla_policy_for(stage=lead.stage, priority=priority), now)
    assignment.save()
    if decision.turn is not None:
        QueueMember.objects.filter(queue_id=decision.turn.queue_id, rep_id=decision.turn.rep_id).update(
            assigned_count=decision.turn.assigned_count, last_assigned_at=now
        )
    RoutingDecision.objects.create(
        lead=lead,
        decided_at=now,
        trigger=trigger,
        actor=actor,
        queue_id=decision.queue_id,
        rep=rep,
        rule_id=decision.rule_id,
        assignment=assignment,
        summary=_summary(lead, decision, rep),
        audit=decision.to_dict() | {"decided_at": now.isoformat()},
    )
    if rep is not None:
        Activity.objects.create(
            lead=lead,
            assignment=assignment,
            kind=ActivityKind.ASSIGNED,
            actor=actor,
            at=now,
            notes=decision.reason[:1000],
        )
        _notify_on_commit("assigned", assignment.id)
    return assignment


def lead_route(
    *, lead_id: int, trigger: str, actor=None, now: datetime | None = None, compiled=None
) -> Assignment | None:
    """Route a lead unless it already has an active assignment (then nothing happens).

    Idempotent: the broker may deliver the same routing task twice. `compiled`
    lets a caller routing many leads read the rules once.
    """
    now = now or timezone.now()
    with transaction.atomic():
        lead = _locked_lead(lead_id)
        if lead.merged_into_id is not None or lead.stage not in ROUTABLE_STAGES:
            return None
        if Assignment.objects.filter(lead_id=lead_id, status__in=ACTIVE_ASSIGNMENT_STATUSES).exists():
            return None
        decision, reps = _decide(lead, now=now, compiled=compiled)
        return _assign(lead, decision, reps, trigger=trigger, actor=actor, now=now)


def lead_route_preview(*, lead_id: int, now: datetime | None = None) -> RoutePreview:
    """The decision the live rules would make for this lead now; nothing is written or locked."""
    now = now or timezone.now()
    lead = Lead.objects.select_related("account", "source", "campaign", "score").get(id=lead_id)
    compiled = routing_policy_compiled()
    facts = routing_facts_for_lead(lead)
    match = match_rule(compiled, facts)
    queue_ids = {match.queue_id, compiled.policy.fallback_queue_id}
    rep_ids = queue_member_rep_ids(queue_ids)
    rep_ids.update(rep_id for rep_id in (facts.account_owner_id, *facts.account_rep_ids) if rep_id)
    reps = reps_for_routing(rep_ids, lock=False)
    queues = list(Queue.objects.filter(id__in=queue_ids))
    decision = decide(
        compiled, facts, queues=engine_queues(queues), reps=rep_states(reps, now=now), now=now, match=match
    )
    rep = next((r for r in reps if r.id == decision.rep_id), None)
    return RoutePreview(decision=decision, summary=_summary(lead, decision, rep))


def leads_route(*, lead_ids, trigger: str, actor=None) -> list[Assignment]:
    """Route several leads, each in its own transaction (one failure does not undo the others)."""
    assignments = []
    compiled = routing_policy_compiled() if lead_ids else None
    for lead_id in lead_ids:
        assignment = lead_route(lead_id=lead_id, trigger=trigger, actor=actor, compiled=compiled)
        if assignment is not None:
            assignments.append(assignment)
    return assignments


def leads_mark_hot(*, lead_ids) -> int:
    """A lead crossing the hot threshold: route it if it has no assignment; an
    assigned one moves up to high priority (the rep's queue order)."""
    raised = Assignment.objects.filter(lead_id__in=lead_ids, status__in=ACTIVE_ASSIGNMENT_STATUSES).exclude(
        priority=Priority.HIGH
    )
    return raised.update(priority=Priority.HIGH)


def assignment_assign_waiting(*, assignment_id: int, now: datetime | None = None) -> Assignment | None:
    """Give a waiting (parked) lead to a rep of its queue if one is available now."""
    now = now or timezone.now()
    with transaction.atomic():
        lead_id = Assignment.objects.values_list("lead_id", flat=True).get(id=assignment_id)
        lead = _locked_lead(lead_id)
        assignment = Assignment.objects.select_for_update().get(id=assignment_id)
        if assignment.status != AssignmentStatus.WAITING:
            return None
        decision, reps = _decide(lead, now=now, queue_id=assignment.queue_id)
        if decision.rep_id is None:
            return None
        assignment.status = AssignmentStatus.CLOSED
        assignment.closed_at = now
        assignment.close_reason = "Assigned once a rep was available"
        assignment.save(update_fields=["status", "closed_at", "close_reason"])
        return _assign(
            lead, decision, reps, trigger=RoutingTrigger.WAITING, actor=None, now=now, priority=assignment.priority
        )


def assignment_reassign_to_next(
    *, assignment_id: int, actor, reason: str, to_rep_id: int | None = None, now: datetime | None = None
) -> Assignment | None:
    """Take the lead from its rep: to `to_rep_id` (a manager's pick) or the queue's next rep.

    Returns the new assignment, or None when nobody else is available (the lead
    then waits in its queue, flagged for managers)."""
    now = now or timezone.now()
    with transaction.atomic():
        lead_id = Assignment.objects.values_list("lead_id", flat=True).get(id=assignment_id)
        lead = _locked_lead(lead_id)
        current = (
            Assignment.objects.select_for_update(of=("self",))
            .select_related("rep", "queue__team")
            .get(id=assignment_id)
        )
        if current.status not in (AssignmentStatus.OPEN, AssignmentStatus.ACCEPTED, AssignmentStatus.WAITING):
            raise ValidationError({"status": f"The assignment is {current.get_status_display().lower()}."})
        if actor is not None:
            check_can_manage(actor, current.rep, queue=current.queue)
        current.status = AssignmentStatus.REASSIGNED
        current.closed_at = now
        current.close_reason = reason[:500]
        current.save(update_fields=["status", "closed_at", "close_reason"])
        exclude = (current.rep_id,) if current.rep_id else ()
        if to_rep_id is not None:
            target = reps_for_routing([to_rep_id], lock=True)
            if not target:
                raise ValidationError({"to_rep": f"There is no rep {to_rep_id}."})
            if actor is not None:
                check_can_manage(actor, target[0])
            decision, _ = _decide(lead, now=now, exclude_rep_ids=exclude, queue_id=current.queue_id)
            decision = _pick(decision, rep_id=to_rep_id, reason=f"Reassigned by {actor}: {reason}")
            reps = {target[0].id: target[0]}
        else:
            decision, reps = _decide(lead, now=now, exclude_rep_ids=exclude, queue_id=current.queue_id)
        Activity.objects.create(
            lead=lead, assignment=current, kind=ActivityKind.REASSIGNED, actor=actor, at=now, notes=reason[:1000]
        )
        new = _assign(
            lead,
            decision,
            reps,
            trigger=RoutingTrigger.REASSIGN if actor else RoutingTrigger.SLA,
            actor=actor,
            now=now,
            priority=current.priority,
        )
        return new if new.rep_id else None


def _pick(decision: Decision, *, rep_id: int, reason: str) -> Decision:
    """A manager's explicit choice: same audit of the rules, no rotation turn."""
    return replace(decision, rep_id=rep_id, is_waiting=False, turn=None, method="manual", reason=reason)
