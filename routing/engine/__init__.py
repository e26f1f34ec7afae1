"""The routing policy and SLA arithmetic: pure Python, no Django.

Services load rules, queues, members and reps, build the frozen inputs in `facts.py`, call
`decide(compile_policy(policy), facts, queues=..., reps=..., now=...)` and persist the
`Decision` (its `turn` moves the queue's rotation; `warn_at` and `due_at` start the
assignment's SLA clock; `to_dict()` is the audit record). The SLA clock is part of the
decision: `decide(..., sla_terms=...)` counts it with `sla_clock` in the chosen rep's working
hours, time zone and holidays, which the RepState it already holds carries.

| module | what |
| --- | --- |
| `facts.py` | the frozen inputs: Territory, RoutingRule, RoutingPolicy, RoutingFacts, RepState, Queue... |
| `policy.py` | validate and compile a policy (cached by content hash) |
| `decision.py` | `match_rule`, `decide`, `decision_pick`: the `Decision` and its audit |
| (`conditions/explain.py`) | `explain_condition`: the decisive comparison of a condition, in words (re-exported here) |
| `territory.py` | `territory_match` |
| `rotation.py` | round robin, weighted round robin, least loaded; `starting_assigned_count` |
| `availability.py` | `rep_availability`: inactive, out of office, at capacity, outside hours |
| `sla.py` | business minutes across time zones, holidays and DST; `SlaTerms`, `sla_clock` |
"""

from conditions.explain import compile_explainer, explain_condition
from routing.engine.availability import Availability, rep_availability
from routing.engine.decision import (
    Decision,
    RepCheck,
    RuleCheck,
    RuleMatch,
    Turn,
    decide,
    decision_pick,
    match_rule,
)
from routing.engine.facts import (
    PRIORITIES,
    ROOTS,
    STRATEGIES,
    OutOfOffice,
    Queue,
    QueueMember,
    RepState,
    RoutingFacts,
    RoutingPolicy,
    RoutingRule,
    Territory,
)
from routing.engine.policy import (
    CompiledPolicy,
    RoutingPolicyError,
    compile_policy,
    policy_hash,
    validate_policy,
    validate_rule,
)
from routing.engine.rotation import Candidate, RotationChoice, choose_next, starting_assigned_count
from routing.engine.sla import (
    NoWorkingTimeError,
    SlaClock,
    SlaTerms,
    WorkingHours,
    add_business_minutes,
    business_minutes_between,
    is_working,
    next_working_start,
    sla_clock,
    sla_times,
)
from routing.engine.territory import territory_match

__all__ = [
    "PRIORITIES",
    "ROOTS",
    "STRATEGIES",
    "Availability",
    "Candidate",
    "CompiledPolicy",
    "Decision",
    "NoWorkingTimeError",
    "OutOfOffice",
    "Queue",
    "QueueMember",
    "RepCheck",
    "RepState",
    "RotationChoice",
    "RoutingFacts",
    "RoutingPolicy",
    "RoutingPolicyError",
    "RoutingRule",
    "RuleCheck",
    "RuleMatch",
    "SlaClock",
    "SlaTerms",
    "Territory",
    "Turn",
    "WorkingHours",
    "add_business_minutes",
    "business_minutes_between",
    "choose_next",
    "compile_explainer",
    "compile_policy",
    "decide",
    "decision_pick",
    "explain_condition",
    "is_working",
    "match_rule",
    "next_working_start",
    "policy_hash",
    "rep_availability",
    "sla_clock",
    "sla_times",
    "starting_assigned_count",
    "territory_match",
    "validate_policy",
    "validate_rule",
]
