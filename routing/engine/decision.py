"""The routing decision: account first, then the first matching rule's queue, then the rotation.

    compiled = compile_policy(policy)          # policy.py: validated, compiled once, cached by content hash
    decision = decide(compiled, facts, queues=queues, reps=reps, now=now)
    decision.rep_id, decision.queue_id, decision.turn, decision.to_dict()

Order of decisions (issue 4):

1. Account-based routing: the account's owner when available; otherwise a rep holding an open
   assignment for another lead of the account, when available. An unavailable one is recorded
   with the reason and the decision falls through. Territories do not apply here (the owner
   owns the account wherever it is); availability does.
2. The first rule (by position) whose condition holds and whose territory (if any) covers the
   lead picks the queue and the priority; the audit says why each earlier rule did not match.
3. No rule matches: the fallback queue. Nothing is ever unroutable.
4. Within the queue the strategy (rotation.py) picks among the available members: active, not
   out of office, under capacity, inside their territories (if they have any) and, only when
   the policy says so, inside working hours.
5. Nobody available: the decision keeps the queue, with `rep_id` None and `is_waiting` True,
   so the service parks the lead there unassigned and managers see it. The lead is not spilled
   into the fallback queue by default because the rule said which team should work it; set
   `overflow_to_fallback` to try the fallback queue's members first.

The queue of an account-routed decision is still the queue the rules chose (for priority, SLA
and reporting), but `turn` is None: the queue's rotation did not choose, so no count moves.

The decision carries the assignment's SLA clock (`warn_at`, `due_at`): from the SLA terms of
the lead's stage at the decision's priority, counted in the chosen rep's working hours, time
zone and holidays (sla.sla_clock). A waiting decision has no clock: it starts with a rep.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from routing.engine.availability import Availability, rep_availability
from routing.engine.facts import STRATEGIES, Queue, RepState, RoutingFacts, RoutingPolicy, RoutingRule
from routing.engine.policy import CompiledPolicy
from routing.engine.rotation import Candidate, RotationChoice, choose_next
from routing.engine.sla import SlaTerms, rep_sla_clock
from routing.engine.territory import territory_match

ACCOUNT_OWNER = "account_owner"
ACCOUNT_REP = "account_rep"
RULE = "rule"
FALLBACK = "fallback"
OVERFLOW = "overflow"


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleCheck:
    """One rule tried, in order: whether it matched and the decisive reason."""

    rule_id: Any
    name: str
    position: int
    matched: bool
    reason: str
    definition: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "name": self.name,
            "position": self.position,
            "matched": self.matched,
            "reason": self.reason,
            "definition": self.definition,
        }


@dataclass(frozen=True)
class RuleMatch:
    """The queue the rules chose: `rule` None means the fallback queue."""

    rule: RoutingRule | None
    queue_id: Any
    priority: str
    reason: str
    checks: tuple[RuleCheck, ...]

    @property
    def rule_id(self) -> Any:
        return self.rule.id if self.rule else None


@dataclass(frozen=True)
class RepCheck:
    """A rep considered, in the role they were considered for, and the outcome."""

    rep_id: Any
    role: str  # "account_owner", "account_rep" or "queue_member"
    queue_id: Any
    is_available: bool
    code: str
    reason: str
    back_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rep_id": self.rep_id,
            "role": self.role,
            "queue_id": self.queue_id,
            "is_available": self.is_available,
            "code": self.code,
            "reason": self.reason,
            "back_at": self.back_at.isoformat() if self.back_at else None,
        }


@dataclass(frozen=True)
class Turn:
    """The rotation moved: store `assigned_count` and `last_assigned_at` for this queue member."""

    queue_id: Any
    rep_id: Any
    assigned_count: int
    previous_count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "queue_id": self.queue_id,
            "rep_id": self.rep_id,
            "assigned_count": self.assigned_count,
            "previous_count": self.previous_count,
        }


@dataclass(frozen=True)
class Decision:
    """Where a lead goes and why.

    method: account_owner, account_rep, rule, fallback (no rule matched) or overflow (the
      matched queue had nobody, the fallback queue's rotation chose).
    rep_id None with is_waiting True: park the lead in `queue_id`, unassigned.
    turn: set only when a queue's rotation chose the rep; the service stores its count.
    warn_at, due_at: the SLA clock the assignment starts with (None when waiting, when no
      SLA terms apply, or when the rep's calendar has no working time); sla says which.
    """

    method: str
    rep_id: Any
    queue_id: Any
    rule_id: Any
    rule_name: str | None
    priority: str
    is_waiting: bool
    reason: str
    turn: Turn | None
    rules: tuple[RuleCheck, ...]
    reps: tuple[RepCheck, ...]
    rotation: tuple[dict[str, Any], ...]
    policy_hash: str
    decided_at: datetime
    warn_at: datetime | None = None
    due_at: datetime | None = None
    sla: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The audit record, JSON-ready."""
        return {
            "method": self.method,
            "rep_id": self.rep_id,
            "queue_id": self.queue_id,
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "priority": self.priority,
            "is_waiting": self.is_waiting,
            "reason": self.reason,
            "turn": self.turn.to_dict() if self.turn else None,
            "rules": [check.to_dict() for check in self.rules],
            "reps": [check.to_dict() for check in self.reps],
            "rotation": list(self.rotation),
            "policy_hash": self.policy_hash,
            "decided_at": self.decided_at.isoformat(),
            "warn_at": self.warn_at.isoformat() if self.warn_at else None,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "sla": self.sla,
        }


# --- the decision -------------------------------------------------------------------------


def _context(facts: RoutingFacts | Mapping[str, Any]) -> dict[str, Any]:
    return facts.context() if isinstance(facts, RoutingFacts) else dict(facts)


def match_rule(compiled: CompiledPolicy, facts: RoutingFacts | Mapping[str, Any]) -> RuleMatch:
    """The first rule that matches (condition, then territory), with why each earlier one did not.

    Cheap enough to call before locking: a service can match first, lock the chosen queue's
    members, then `decide(..., match=...)` with fresh rep state.
    """
    context = _context(facts)
    checks = []
    for item in compiled.rules:
        rule = item.rule
        # the compiled predicate decides; the explainer only runs to word the outcome
        matched = item.predicate(context)
        _, reason = item.explain(context, False)
        if matched and rule.territory is not None:
            matched, territory_reason = territory_match(rule.territory, context)
            reason = territory_reason if not matched else f"{reason}; {territory_reason}"
        checks.append(RuleCheck(rule.id, rule.name, rule.position, matched, reason, item.definition))
        if matched:
            return RuleMatch(
                rule=rule,
                queue_id=rule.queue_id,
                priority=rule.priority,
                reason=f"rule '{rule.name}' matched: {reason}",
                checks=tuple(checks),
            )
    policy = compiled.policy
    return RuleMatch(
        rule=None,
        queue_id=policy.fallback_queue_id,
        priority=policy.fallback_priority,
        reason="no rule matched: fallback queue" if checks else "no rules: fallback queue",
        checks=tuple(checks),
    )


def _rep_check(
    rep_id: Any, role: str, queue_id: Any, reps: Mapping[Any, RepState], now: datetime, policy: RoutingPolicy
) -> tuple[RepCheck, RepState | None]:
    rep = reps.get(rep_id)
    if rep is None:
        return RepCheck(rep_id, role, queue_id, False, "unknown", f"rep {rep_id} is not known to routing"), None
    availability: Availability = rep_availability(rep, now, respect_working_hours=policy.respect_working_hours)
    reason = f"{rep.label}: {availability.reason}"
    check = RepCheck(rep_id, role, queue_id, availability.is_available, availability.code, reason, availability.back_at)
    return check, rep


def _rotate(
    queue: Queue,
    context: dict[str, Any],
    reps: Mapping[Any, RepState],
    now: datetime,
    policy: RoutingPolicy,
    checks: list[RepCheck],
) -> RotationChoice | None:
    candidates = []
    for member in queue.members:
        check, rep = _rep_check(member.rep_id, "queue_member", queue.id, reps, now, policy)
        if check.is_available and policy.respect_rep_territories and rep.territories:
            outcomes = [territory_match(territory, context) for territory in rep.territories]
            if not any(matched for matched, _ in outcomes):
                names = ", ".join(territory.name for territory in rep.territories)
                check = RepCheck(
                    rep.id,
                    "queue_member",
                    queue.id,
                    False,
                    "outside_territory",
                    f"{rep.label}: outside the rep's territories ({names}): {outcomes[0][1]}",
                )
        checks.append(check)
        if check.is_available:
            candidates.append(Candidate(member, rep.open_assignments, rep.capacity))
    return choose_next(queue.strategy, candidates)


def _turn(queue: Queue, choice: RotationChoice) -> Turn:
    stored = next(ranked.assigned_count for ranked in choice.ranking if ranked.rep_id == choice.rep_id)
    return Turn(queue.id, choice.rep_id, choice.assigned_count, stored)


def _queue(queues: Mapping[Any, Queue], queue_id: Any, why: str) -> Queue:
    queue = queues.get(queue_id)
    if queue is None:
        raise ValueError(f"queue {queue_id} ({why}) was not given to decide()")
    if queue.strategy not in STRATEGIES:
        raise ValueError(f"queue {queue.name}: strategy {queue.strategy!r} is not one of {', '.join(STRATEGIES)}")
    return queue


def decide(
    compiled: CompiledPolicy,
    facts: RoutingFacts,
    *,
    queues: Mapping[Any, Queue],
    reps: Mapping[Any, RepState],
    now: datetime,
    match: RuleMatch | None = None,
    sla_terms: Mapping[str, SlaTerms] | None = None,
    priority: str | None = None,
) -> Decision:
    """Route one lead. Pure: reads its arguments, returns a Decision, changes nothing.

    `queues` must hold the matched queue (and the fallback queue when overflow is on); `reps`
    the account owner, the account's reps and the members of those queues. A rep missing from
    `reps` is skipped as unknown. `match` may be passed when `match_rule` already ran.
    `sla_terms`: the SLA terms for the lead's stage, by priority (none: no SLA clock).
    `priority`: the assignment's priority when it is already set (a waiting or reassigned
    lead keeps its own); otherwise the matched rule's.
    """
    policy = compiled.policy
    context = facts.context()
    match = match or match_rule(compiled, context)
    checks: list[RepCheck] = []
    priority = priority or match.priority

    def decision(method: str, rep_id: Any, queue_id: Any, reason: str, turn=None, rotation=()) -> Decision:
        clock = rep_sla_clock((sla_terms or {}).get(priority), reps.get(rep_id) if rep_id is not None else None, now)
        return Decision(
            method=method,
            rep_id=rep_id,
            queue_id=queue_id,
            rule_id=match.rule_id,
            rule_name=match.rule.name if match.rule else None,
            priority=priority,
            is_waiting=rep_id is None,
            reason=reason,
            turn=turn,
            rules=match.checks,
            reps=tuple(checks),
            rotation=tuple(rotation),
            policy_hash=compiled.content_hash,
            decided_at=now,
            warn_at=clock.warn_at,
            due_at=clock.due_at,
            sla=clock.note,
        )

    if policy.account_routing:
        tried = []
        for role, rep_id in [(ACCOUNT_OWNER, facts.account_owner_id)] + [
            (ACCOUNT_REP, rep_id) for rep_id in facts.account_rep_ids
        ]:
            if rep_id is None or rep_id in tried:
                continue
            tried.append(rep_id)
            check, rep = _rep_check(rep_id, role, match.queue_id, reps, now, policy)
            checks.append(check)
            if check.is_available:
                who = "the account's owner" if role == ACCOUNT_OWNER else "the rep working another lead of the account"
                return decision(role, rep_id, match.queue_id, f"{rep.label} is {who} and is available; {match.reason}")

    queue = _queue(queues, match.queue_id, match.reason)
    choice = _rotate(queue, context, reps, now, policy, checks)
    method = RULE if match.rule else FALLBACK
    if choice is not None:
        turn = _turn(queue, choice)
        label = reps[choice.rep_id].label
        reason = f"{match.reason} -> queue {queue.name}; {label} chosen by {choice.reason}"
        return decision(method, choice.rep_id, queue.id, reason, turn, (r.to_dict() for r in choice.ranking))

    waiting = f"{match.reason} -> queue {queue.name}; nobody available ({len(queue.members)} members): waiting"
    if policy.overflow_to_fallback and queue.id != policy.fallback_queue_id:
        fallback = _queue(queues, policy.fallback_queue_id, "fallback queue for overflow")
        choice = _rotate(fallback, context, reps, now, policy, checks)
        if choice is not None:
            turn = _turn(fallback, choice)
            label = reps[choice.rep_id].label
            reason = (
                f"{waiting[: -len(': waiting')]}; overflow to fallback queue {fallback.name}: "
                f"{label} chosen by {choice.reason}"
            )
            return decision(OVERFLOW, choice.rep_id, fallback.id, reason, turn, (r.to_dict() for r in choice.ranking))
    return decision(method, None, queue.id, waiting)


def decision_pick(
    decision: Decision, rep: RepState, *, reason: str, sla_terms: Mapping[str, SlaTerms] | None = None
) -> Decision:
    """A manager's explicit choice of `rep`: the same audit of the rules, no rotation turn, and
    the SLA clock counted in the picked rep's calendar."""
    clock = rep_sla_clock((sla_terms or {}).get(decision.priority), rep, decision.decided_at)
    manual = {"rep_id": rep.id, "is_waiting": False, "turn": None, "method": "manual", "reason": reason}
    return replace(decision, **manual, warn_at=clock.warn_at, due_at=clock.due_at, sla=clock.note)
