"""What a routing decision writes: the assignment (with its SLA clock), the audit
row and the rep's timeline entry, and the notice sent once they are committed.

Shared by routing one lead (`assignments.lead_route`, reassignment, waiting leads)
and routing a group of leads (`assignments.leads_route`, bulk writes).
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from leads.models import Lead
from routing.engine import Decision, SlaTerms
from routing.models import (
    Activity,
    ActivityKind,
    Assignment,
    AssignmentStatus,
    Priority,
    QueueMember,
    Rep,
    RoutingDecision,
    SlaPolicy,
)
from routing.services.notices import notices_record

logger = logging.getLogger(__name__)


def notify_on_commit(kind: str, assignment_id: int) -> None:
    """Record the notice with the change and publish it on commit (the SLA sweep resends it if lost)."""
    notices_record(kind=kind, assignment_ids=[assignment_id])


def sla_policies_load() -> dict[tuple[str, str], SlaPolicy]:
    return {(policy.stage, policy.priority): policy for policy in SlaPolicy.objects.all()}


def sla_policy_for(policies: dict, *, stage: str, priority: str) -> SlaPolicy | None:
    """The policy for the lead's stage and priority, else the stage's normal one."""
    return policies.get((stage, priority)) or policies.get((stage, Priority.NORMAL))


def sla_terms_for(policies: dict, *, stage: str) -> dict[str, SlaTerms]:
    """The SLA terms the engine counts a decision's clock with, for a lead in `stage`, by priority."""
    terms = {}
    for priority in Priority.values:
        policy = sla_policy_for(policies, stage=stage, priority=priority)
        if policy is not None:
            terms[priority] = SlaTerms(policy.first_touch_minutes, policy.warning_minutes)
    return terms


def decision_summary(lead: Lead, decision: Decision, rep: Rep | None) -> str:
    who = str(rep) if rep else "nobody yet (waiting)"
    return f"{lead} → {who}: {decision.reason}"[:300]


@dataclass
class AssignmentRows:
    """What one decision writes: the assignment, its audit, and the rep's timeline entry."""

    assignment: Assignment
    decision: RoutingDecision
    activity: Activity | None


def assignment_rows_build(
    lead: Lead,
    decision: Decision,
    rep: Rep | None,
    *,
    trigger: str,
    actor,
    now: datetime,
    sla_policies: dict,
) -> AssignmentRows:
    """The rows of one decision. The SLA clock is the decision's (the engine counted it in
    the rep's calendar); the policy row it came from is kept on the assignment."""
    assignment = Assignment(
        lead=lead,
        rep=rep,
        queue_id=decision.queue_id,
        rule_id=decision.rule_id,
        priority=decision.priority,
        status=AssignmentStatus.WAITING if rep is None else AssignmentStatus.OPEN,
        assigned_at=now if rep else None,
        warn_at=decision.warn_at if rep else None,
        due_at=decision.due_at if rep else None,
    )
    if rep is not None:
        assignment.sla_policy = sla_policy_for(sla_policies, stage=lead.stage, priority=decision.priority)
        if assignment.sla_policy is not None and decision.due_at is None:
            # A rep with no working time at all cannot have a business-hours clock:
            # no due time rather than a wrong one (the admin validates hours).
            logger.error("rep %s: %s; assignment without SLA clock", rep.id, decision.sla)
    audit = RoutingDecision(
        lead=lead,
        decided_at=now,
        trigger=trigger,
        actor=actor,
        queue_id=decision.queue_id,
        rep=rep,
        rule_id=decision.rule_id,
        assignment=assignment,
        summary=decision_summary(lead, decision, rep),
        audit=decision.to_dict() | {"decided_at": now.isoformat()},
    )
    activity = None
    if rep is not None:
        activity = Activity(
            lead=lead,
            assignment=assignment,
            kind=ActivityKind.ASSIGNED,
            actor=actor,
            at=now,
            notes=decision.reason[:1000],
        )
    return AssignmentRows(assignment, audit, activity)


def assignment_rows_save(rows: list[AssignmentRows], turns: dict[tuple[int, int], tuple[int, datetime]]) -> None:
    """Write the decisions' rows (in decision order) and the rotation's final counts; notify on commit."""
    Assignment.objects.bulk_create([row.assignment for row in rows])
    RoutingDecision.objects.bulk_create([row.decision for row in rows])
    Activity.objects.bulk_create([row.activity for row in rows if row.activity is not None])
    for (queue_id, rep_id), (assigned_count, at) in turns.items():
        QueueMember.objects.filter(queue_id=queue_id, rep_id=rep_id).update(
            assigned_count=assigned_count, last_assigned_at=at
        )
    notices_record(kind="assigned", assignment_ids=[row.assignment.id for row in rows if row.activity is not None])


def assignment_write(
    lead: Lead,
    decision: Decision,
    reps: dict,
    *,
    trigger: str,
    actor,
    now: datetime,
    sla_policies: dict,
) -> Assignment:
    rep = reps.get(decision.rep_id)
    rows = assignment_rows_build(lead, decision, rep, trigger=trigger, actor=actor, now=now, sla_policies=sla_policies)
    turns = (
        {(decision.turn.queue_id, decision.turn.rep_id): (decision.turn.assigned_count, now)} if decision.turn else {}
    )
    assignment_rows_save([rows], turns)
    return rows.assignment
