"""Routing a lead to a rep: the one place assignments are created.

Lock order, everywhere: the lead, then the queue (its rotation), then the reps
in id order (their capacity). Under those locks the pure policy decides with
fresh state, so concurrent workers never exceed a rep's capacity and never
give two leads the same turn; the unique constraint on active assignments
keeps one per lead whatever happens above.

Many leads (`leads_route`) are routed in groups of ROUTE_GROUP_SIZE, one
transaction per group: one commit (one WAL flush) instead of one per lead, and
what every lead of the group shares is read once (rules, queues, members, reps
with their calendars and load, account owners and reps, SLA policies). A group
takes its locks up front and in the same order, each kind in one statement:

1. its leads, in id order, skipping any another transaction holds (SKIP
   LOCKED: those are routed one by one after the group, waiting as
   `lead_route` does), so a group never waits for a lead while holding others;
2. the union of the queues its leads' rules chose (and the fallback queue when
   overflow is on), in id order;
3. the union of the reps it may give a lead to, in id order: those queues'
   members, the accounts' owners and the reps already working the accounts.
   A rep a decision of the group picks is one of these (a rep working an
   account because the group just gave them a lead is a member of a locked
   queue), so nothing is locked after step 3.

No deadlock: every transaction that waits for a lock waits for one ranked
above all it holds (rank: lead < queue < rep, then id), since a group's only
lead statement never waits, and a single `lead_route`, `assignment_assign_waiting`
or `assignment_reassign_to_next` takes one lead, then queues, then reps, each in
id order; a cycle of waits would need a rank lower than itself. Capacity and
turns stay exact because a group's decisions are made in memory under those
locks, each one updating the load and rotation the next one sees.

One lead's failure does not lose the others' assignments: a group that fails
is rolled back whole and its leads are routed one by one, each in its own
transaction as before (the one that fails raises; the unrouted-leads sweep
retries it and anything after it).
"""

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leads.models import Lead, Stage
from leads.services.stages import TERMINAL_STAGES
from routing.engine import (
    CompiledPolicy,
    Decision,
    RepState,
    RoutingFacts,
    RuleMatch,
    decide,
    decision_pick,
    match_rule,
)
from routing.engine import Queue as EngineQueue
from routing.models import (
    ACTIVE_ASSIGNMENT_STATUSES,
    Activity,
    ActivityKind,
    Assignment,
    AssignmentStatus,
    Priority,
    Queue,
    Rep,
    RoutingTrigger,
    SlaPolicy,
)
from routing.permissions import check_can_manage
from routing.selectors.policy import (
    ACCOUNT_RECENT_ASSIGNMENTS,
    account_owner_rep_ids,
    account_recent_assignments,
    engine_queues,
    queue_member_rep_ids,
    rep_states,
    reps_for_routing,
    routing_facts,
    routing_facts_for_lead,
)
from routing.services.assignment_rows import (
    assignment_rows_build,
    assignment_rows_save,
    assignment_write,
    decision_summary,
    sla_policies_load,
    sla_terms_for,
)
from routing.services.queues import routing_policy_for_routing

logger = logging.getLogger(__name__)

# Stages a lead is routed in. Later stages are already being worked.
ROUTABLE_STAGES = (Stage.NEW, Stage.MQL, Stage.PQL)
# Leads per transaction in `leads_route`: the commit is shared, and the queue and
# rep locks are held for the group's decisions (a few ms per lead), which is how
# long a concurrent single `lead_route` for the same queue may wait.
ROUTE_GROUP_SIZE = 50


@dataclass(frozen=True)
class RoutePreview:
    decision: Decision
    summary: str


def _leads_for_routing():
    """Leads with what their routing facts read."""
    return Lead.objects.select_related("account", "source", "campaign", "score")


def _locked_leads(lead_ids, *, skip_locked: bool) -> dict[int, Lead]:
    """The leads, locked in id order (with SKIP LOCKED, only those nobody else holds)."""
    leads = (
        _leads_for_routing()
        .select_for_update(of=("self",), skip_locked=skip_locked)
        .filter(id__in=lead_ids)
        .order_by("id")
    )
    return {lead.id: lead for lead in leads}


def _locked_assignment(assignment_id: int) -> tuple[Lead, Assignment]:
    """An assignment and its lead, locked in the order above: the lead first."""
    lead_id = Assignment.objects.values_list("lead_id", flat=True).get(id=assignment_id)
    lead = _leads_for_routing().select_for_update(of=("self",)).get(id=lead_id)
    assignment = (
        Assignment.objects.select_for_update(of=("self",)).select_related("rep", "queue__team").get(id=assignment_id)
    )
    return lead, assignment


def _rejected_by(lead_ids) -> dict[int, set[int]]:
    """Lead id -> the reps who rejected it. Routing keeps a rejected lead out of their queues
    when it qualifies again (unless they own its account: the owner keeps the account)."""
    rejected: dict[int, set[int]] = {}
    rows = Assignment.objects.filter(lead_id__in=lead_ids, status=AssignmentStatus.REJECTED, rep__isnull=False)
    for lead_id, rep_id in rows.values_list("lead_id", "rep_id"):
        rejected.setdefault(lead_id, set()).add(rep_id)
    return rejected


def _without_rejecters(states: dict, rejecters: set[int], facts: RoutingFacts) -> dict:
    """The rep states a lead may be given to: a rep missing from them is skipped by the policy."""
    excluded = rejecters - {facts.account_owner_id}
    return {rep_id: state for rep_id, state in states.items() if rep_id not in excluded} if excluded else states


@dataclass(frozen=True)
class _Decided:
    """One lead's decision and what was read for it (rep rows and states by id, SLA policies)."""

    decision: Decision
    reps: dict[int, Rep]
    states: dict[int, RepState]
    sla_policies: dict
    sla_terms: dict


def _decide(
    lead: Lead, *, now: datetime, queue_id: int, priority: str, exclude_rep_ids=(), also_lock_rep_ids=()
) -> _Decided:
    """One lead's decision within the queue of its assignment (waiting leads, reassignment),
    under the queue and rep locks, keeping the assignment's `priority`.

    The lead stays in `queue_id` (the rules chose it earlier), so the account's owner and
    reps are not offered: only that queue's members (and the fallback's, on overflow).
    `also_lock_rep_ids`: reps the caller needs locked too (a manager's pick), locked with
    the others in id order but not offered to the policy."""
    compiled = routing_policy_for_routing()
    facts = routing_facts(lead, account_owner_id=None, account_rep_ids=())
    match = match_rule(compiled, facts)
    if match.queue_id != queue_id:
        match = replace(match, rule=None, queue_id=queue_id, reason="same queue as before")
    queue_ids = {queue_id}
    if compiled.policy.overflow_to_fallback:
        queue_ids.add(compiled.policy.fallback_queue_id)
    queues = list(Queue.objects.select_for_update().filter(id__in=queue_ids).order_by("id"))
    rep_ids = queue_member_rep_ids(queue_ids) - set(exclude_rep_ids)
    reps = reps_for_routing(rep_ids | set(also_lock_rep_ids), lock=True)
    states = rep_states(reps, now=now)
    offered = {rep_id: state for rep_id, state in states.items() if rep_id in rep_ids}
    policies = sla_policies_load()
    terms = sla_terms_for(policies, stage=lead.stage)
    decision = decide(
        compiled,
        facts,
        queues=engine_queues(queues),
        reps=offered,
        now=now,
        match=match,
        sla_terms=terms,
        priority=priority,
    )
    return _Decided(decision, {rep.id: rep for rep in reps}, states, policies, terms)


@dataclass
class _Group:
    """What a group of locked leads is routed against, read once under the queue and rep locks
    and kept current in memory: each decision moves the load and rotation the next one sees,
    as the rows the previous lead's transaction committed did when leads were routed one by one."""

    compiled: CompiledPolicy
    facts: dict[int, RoutingFacts]
    matches: dict[int, RuleMatch]
    queues: dict[int, EngineQueue]
    reps: dict[int, Rep]
    states: dict[int, RepState]
    # account id -> its latest open assignments as (assigned_at, rep id), newest first
    recent: dict[int, list[tuple[datetime, int]]]
    sla_policies: dict[tuple[str, str], SlaPolicy]
    # lead id -> the reps who rejected it
    rejected_by: dict[int, set[int]] = field(default_factory=dict)
    # (queue id, rep id) -> the member's latest (assigned_count, last_assigned_at)
    turns: dict[tuple[int, int], tuple[int, datetime]] = field(default_factory=dict)

    def decide(self, lead: Lead, *, now: datetime) -> Decision:
        recent = self.recent.get(lead.account_id, ()) if lead.account_id else ()
        facts = replace(self.facts[lead.id], account_rep_ids=tuple(rep_id for _, rep_id in recent))
        reps = _without_rejecters(self.states, self.rejected_by.get(lead.id, set()), facts)
        return decide(
            self.compiled,
            facts,
            queues=self.queues,
            reps=reps,
            now=now,
            match=self.matches[lead.id],
            sla_terms=sla_terms_for(self.sla_policies, stage=lead.stage),
        )

    def record(self, lead: Lead, decision: Decision, *, now: datetime) -> None:
        turn = decision.turn
        if turn is not None:
            queue = self.queues[turn.queue_id]
            members = tuple(
                replace(member, assigned_count=turn.assigned_count, last_assigned_at=now)
                if member.rep_id == turn.rep_id
                else member
                for member in queue.members
            )
            self.queues[turn.queue_id] = replace(queue, members=members)
            self.turns[(turn.queue_id, turn.rep_id)] = (turn.assigned_count, now)
        if decision.rep_id is None:
            return
        state = self.states[decision.rep_id]
        self.states[decision.rep_id] = replace(state, open_assignments=state.open_assignments + 1)
        if lead.account_id:
            # The newest open assignment of the account (`now` is later than any stored one).
            pair = (now, decision.rep_id)
            recent = [pair, *(other for other in self.recent.get(lead.account_id, ()) if other != pair)]
            self.recent[lead.account_id] = recent[:ACCOUNT_RECENT_ASSIGNMENTS]


def _group_load(leads: list[Lead], *, compiled: CompiledPolicy, now: datetime) -> _Group:
    """Lock the group's queues, then its reps (each in one statement, id order), and read the rest.

    The accounts' reps are read before the locks, as they were for one lead: no lock covers an
    account, and a rep found there is locked (and checked for room) with the others."""
    owner_rep_ids = account_owner_rep_ids({lead.account.owner_id for lead in leads if lead.account_id})
    recent = account_recent_assignments({lead.account_id for lead in leads if lead.account_id})
    facts = {
        lead.id: routing_facts(
            lead,
            account_owner_id=owner_rep_ids.get(lead.account.owner_id) if lead.account_id else None,
            account_rep_ids=(),
            as_of=now,
        )
        for lead in leads
    }
    matches = {lead_id: match_rule(compiled, lead_facts) for lead_id, lead_facts in facts.items()}
    queue_ids = {match.queue_id for match in matches.values()}
    if compiled.policy.overflow_to_fallback:
        queue_ids.add(compiled.policy.fallback_queue_id)
    queues = engine_queues(list(Queue.objects.select_for_update().filter(id__in=queue_ids).order_by("id")))
    rep_ids = {member.rep_id for queue in queues.values() for member in queue.members}
    rep_ids.update(owner_rep_ids.values())
    rep_ids.update(rep_id for pairs in recent.values() for _, rep_id in pairs)
    reps = reps_for_routing(rep_ids, lock=True)
    return _Group(
        compiled=compiled,
        facts=facts,
        matches=matches,
        queues=queues,
        reps={rep.id: rep for rep in reps},
        states=rep_states(reps, now=now),
        recent=recent,
        sla_policies=sla_policies_load(),
        rejected_by=_rejected_by([lead.id for lead in leads]),
    )


def _group_route(
    lead_ids: list[int], *, trigger: str, actor, compiled: CompiledPolicy, skip_locked: bool, now=None
) -> tuple[list[Assignment], list[int]]:
    """Route a group of leads in one transaction, in the order given.

    Returns the assignments made and the ids it did not look at: leads another transaction
    holds (with `skip_locked`) or that do not exist. `now`: one instant for every lead
    (else each lead is decided at its own moment, as when routed one by one)."""
    with transaction.atomic():
        leads = _locked_leads(lead_ids, skip_locked=skip_locked)
        active = set(
            Assignment.objects.filter(lead_id__in=leads, status__in=ACTIVE_ASSIGNMENT_STATUSES).values_list(
                "lead_id", flat=True
            )
        )
        routable = [
            leads[lead_id]
            for lead_id in lead_ids
            if lead_id in leads
            and lead_id not in active
            and leads[lead_id].merged_into_id is None
            and leads[lead_id].stage in ROUTABLE_STAGES
        ]
        left = [lead_id for lead_id in lead_ids if lead_id not in leads]
        if not routable:
            return [], left
        group = _group_load(routable, compiled=compiled, now=now or timezone.now())
        rows = []
        for lead in routable:
            decided_at = now or timezone.now()
            decision = group.decide(lead, now=decided_at)
            rep = group.reps.get(decision.rep_id)
            rows.append(
                assignment_rows_build(
                    lead, decision, rep, trigger=trigger, actor=actor, now=decided_at, sla_policies=group.sla_policies
                )
            )
            group.record(lead, decision, now=decided_at)
        assignment_rows_save(rows, group.turns)
    return [row.assignment for row in rows], left


def lead_route(
    *, lead_id: int, trigger: str, actor=None, now: datetime | None = None, compiled=None
) -> Assignment | None:
    """Route a lead unless it already has an active assignment (then nothing happens).

    Idempotent: the broker may deliver the same routing task twice. `compiled`
    lets a caller routing many leads read the rules once.
    """
    compiled = compiled or routing_policy_for_routing()
    routed, missing = _group_route(
        [lead_id], trigger=trigger, actor=actor, compiled=compiled, skip_locked=False, now=now
    )
    if missing:
        raise Lead.DoesNotExist(f"There is no lead {lead_id}.")
    return routed[0] if routed else None


def lead_route_preview(*, lead_id: int, now: datetime | None = None) -> RoutePreview:
    """The decision the live rules would make for this lead now; nothing is locked, and nothing
    is written but a deleted fallback queue (the rules need it; the next routing would recreate it)."""
    now = now or timezone.now()
    lead = _leads_for_routing().get(id=lead_id)
    compiled = routing_policy_for_routing()
    facts = routing_facts_for_lead(lead)
    match = match_rule(compiled, facts)
    queue_ids = {match.queue_id, compiled.policy.fallback_queue_id}
    rep_ids = queue_member_rep_ids(queue_ids)
    rep_ids.update(rep_id for rep_id in (facts.account_owner_id, *facts.account_rep_ids) if rep_id)
    reps = reps_for_routing(rep_ids, lock=False)
    queues = list(Queue.objects.filter(id__in=queue_ids))
    states = _without_rejecters(rep_states(reps, now=now), _rejected_by([lead.id]).get(lead.id, set()), facts)
    terms = sla_terms_for(sla_policies_load(), stage=lead.stage)
    decision = decide(compiled, facts, queues=engine_queues(queues), reps=states, now=now, match=match, sla_terms=terms)
    rep = next((r for r in reps if r.id == decision.rep_id), None)
    return RoutePreview(decision=decision, summary=decision_summary(lead, decision, rep))


def leads_route(*, lead_ids, trigger: str, actor=None) -> list[Assignment]:
    """Route several leads, in groups of ROUTE_GROUP_SIZE per transaction (see the module docstring).

    A group that fails is rolled back and its leads are routed one by one, each in its own
    transaction, so one lead's failure undoes no other lead's assignment. Call it outside a
    transaction (tasks and admin actions do): inside one, every group's locks would be held
    until the caller commits, and the lock order above would not hold across groups."""
    lead_ids = list(dict.fromkeys(lead_ids))
    compiled = routing_policy_for_routing() if lead_ids else None
    assignments = []
    for start in range(0, len(lead_ids), ROUTE_GROUP_SIZE):
        group = lead_ids[start : start + ROUTE_GROUP_SIZE]
        try:
            routed, one_by_one = _group_route(group, trigger=trigger, actor=actor, compiled=compiled, skip_locked=True)
        except Exception:  # noqa: BLE001 - whatever failed, routing each lead alone isolates it (and raises it)
            logger.warning("routing %d leads together failed; routing them one by one", len(group), exc_info=True)
            routed, one_by_one = [], group
        assignments.extend(routed)
        for lead_id in one_by_one:
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
        lead, assignment = _locked_assignment(assignment_id)
        if assignment.status != AssignmentStatus.WAITING:
            return None
        decided = _decide(lead, now=now, queue_id=assignment.queue_id, priority=assignment.priority)
        if decided.decision.rep_id is None:
            return None
        assignment.status = AssignmentStatus.CLOSED
        assignment.closed_at = now
        assignment.close_reason = "Assigned once a rep was available"
        assignment.save(update_fields=["status", "closed_at", "close_reason"])
        return assignment_write(
            lead,
            decided.decision,
            decided.reps,
            trigger=RoutingTrigger.WAITING,
            actor=None,
            now=now,
            sla_policies=decided.sla_policies,
        )


def assignment_reassign_to_next(
    *, assignment_id: int, actor, reason: str, to_rep_id: int | None = None, now: datetime | None = None
) -> Assignment | None:
    """Take the lead from its rep: to `to_rep_id` (a manager's pick) or the queue's next rep.

    Returns the new assignment, or None when nobody else is available (the lead
    then waits in its queue, flagged for managers)."""
    now = now or timezone.now()
    with transaction.atomic():
        lead, current = _locked_assignment(assignment_id)
        if current.status not in (AssignmentStatus.OPEN, AssignmentStatus.ACCEPTED, AssignmentStatus.WAITING):
            raise ValidationError({"status": f"The assignment is {current.get_status_display().lower()}."})
        if lead.stage in TERMINAL_STAGES:
            raise ValidationError(
                {"status": f"The lead is {lead.get_stage_display()}: a closed lead is not handed to another rep."}
            )
        if actor is not None:
            check_can_manage(actor, current.rep, queue=current.queue)
        current.status = AssignmentStatus.REASSIGNED
        current.closed_at = now
        current.close_reason = reason[:500]
        current.save(update_fields=["status", "closed_at", "close_reason"])
        exclude = (current.rep_id,) if current.rep_id else ()
        if to_rep_id is not None:
            # The manager's pick is locked with the queue's reps, in id order (after the queue).
            decided = _decide(
                lead,
                now=now,
                exclude_rep_ids=exclude,
                queue_id=current.queue_id,
                priority=current.priority,
                also_lock_rep_ids=(to_rep_id,),
            )
            target = decided.reps.get(to_rep_id)
            if target is None:
                raise ValidationError({"to_rep": f"There is no rep {to_rep_id}."})
            if actor is not None:
                check_can_manage(actor, target)
            decision = decision_pick(
                decided.decision,
                decided.states[to_rep_id],
                reason=f"Reassigned by {actor}: {reason}",
                sla_terms=decided.sla_terms,
            )
            reps = {target.id: target}
        else:
            decided = _decide(
                lead, now=now, exclude_rep_ids=exclude, queue_id=current.queue_id, priority=current.priority
            )
            decision, reps = decided.decision, decided.reps
        Activity.objects.create(
            lead=lead, assignment=current, kind=ActivityKind.REASSIGNED, actor=actor, at=now, notes=reason[:1000]
        )
        new = assignment_write(
            lead,
            decision,
            reps,
            trigger=RoutingTrigger.REASSIGN if actor else RoutingTrigger.SLA,
            actor=actor,
            now=now,
            sla_policies=decided.sla_policies,
        )
        return new if new.rep_id else None
