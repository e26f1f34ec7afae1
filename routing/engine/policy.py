"""The routing policy: its rules validated in plain words, compiled once, hashed by content.

    compiled = compile_policy(policy)          # validated, compiled once, cached by content hash
    compiled.rules, compiled.content_hash      # what decision.py matches and decides with

A policy is the ordered rules and the switches of facts.RoutingPolicy. Compiling checks every
rule (`validate_policy`; a rule being saved is checked more strictly by `validate_rule`) and
turns each condition into a predicate and an explainer; the same content compiles once.
What a compiled policy decides for a lead is decision.py's.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from conditions.catalogue import ROUTING_FIELDS
from conditions.describe import describe_condition
from conditions.explain import Explainer, compile_explainer
from conditions.language import compile_condition, validate_condition
from routing.engine.facts import PRIORITIES, ROOTS, RoutingPolicy, RoutingRule

_CACHE_SIZE = 32


class RoutingPolicyError(ValueError):
    """The policy does not validate; `errors` holds one sentence per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def validate_rule(rule: RoutingRule, *, known_fields: bool = True) -> list[str]:
    """Plain-word problems with one routing rule; [] when it is valid.

    `known_fields` (the default, for a rule being saved): every field the condition names must
    be in the catalogue (lead, account and score fields) and support its operator. Compiling
    the stored rules checks only the shape, so a rule saved before the catalogue still routes.
    """
    label = f"rule '{rule.name}'" if rule.name else f"rule {rule.id}"
    errors = []
    if not str(rule.name or "").strip():
        errors.append(f"{label}: needs a name")
    if rule.queue_id is None:
        errors.append(f"{label}: needs a target queue")
    if rule.priority not in PRIORITIES:
        errors.append(f"{label}: priority {rule.priority!r} is not one of {', '.join(PRIORITIES)}")
    if rule.condition:
        where = f"{label}: condition"
        if known_fields:
            errors.extend(validate_condition(rule.condition, where=where, fields=ROUTING_FIELDS))
        else:
            errors.extend(validate_condition(rule.condition, where=where, roots=ROOTS))
    elif rule.condition is not None and not isinstance(rule.condition, dict):
        errors.append(f"{label}: condition must be an object")
    return errors


def validate_policy(policy: RoutingPolicy) -> list[str]:
    errors = []
    seen = set()
    for rule in policy.rules:
        errors.extend(validate_rule(rule, known_fields=False))
        if rule.id in seen:
            errors.append(f"rule id {rule.id} appears twice")
        seen.add(rule.id)
    if policy.fallback_queue_id is None:
        errors.append("the policy needs a fallback queue")
    if policy.fallback_priority not in PRIORITIES:
        errors.append(f"fallback priority {policy.fallback_priority!r} is not one of {', '.join(PRIORITIES)}")
    return errors


@dataclass(frozen=True)
class CompiledRule:
    rule: RoutingRule
    predicate: Callable[[dict], bool]
    explain: Explainer
    definition: str


@dataclass(frozen=True)
class CompiledPolicy:
    policy: RoutingPolicy
    rules: tuple[CompiledRule, ...]
    content_hash: str


def policy_hash(policy: RoutingPolicy) -> str:
    """Stable over key order: same rules and switches, same hash."""
    canonical = json.dumps(policy.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


_cache: OrderedDict[str, CompiledPolicy] = OrderedDict()
_last: tuple[RoutingPolicy, CompiledPolicy] | None = None


def compile_policy(policy: RoutingPolicy) -> CompiledPolicy:
    """Validate and compile a policy; the same content is compiled once (cached by hash).

    Raises RoutingPolicyError listing every problem.
    """
    global _last
    if _last is not None and _last[0] is policy:
        return _last[1]
    digest = policy_hash(policy)
    compiled = _cache.get(digest)
    if compiled is None:
        errors = validate_policy(policy)
        if errors:
            raise RoutingPolicyError(errors)
        ordered = sorted(policy.rules, key=lambda rule: (rule.position, str(rule.id)))
        compiled = CompiledPolicy(
            policy=policy,
            rules=tuple(
                CompiledRule(
                    rule=rule,
                    predicate=compile_condition(rule.condition) if rule.condition else (lambda context: True),
                    explain=compile_explainer(rule.condition),
                    definition=describe_condition(rule.condition) if rule.condition else "every lead",
                )
                for rule in ordered
            ),
            content_hash=digest,
        )
        _cache[digest] = compiled
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    _cache.move_to_end(digest)
    _last = (policy, compiled)
    return compiled
