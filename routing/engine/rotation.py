"""Choosing the next rep in a queue: fair, stateless, and stable when members come and go.

The only state is per member and lives in the database: `assigned_count` (leads received
from this queue), `weight` and `last_assigned_at`. A process that restarts, or two workers
that take turns, read the same numbers and make the same choice.

Virtual time. A member's virtual time is `assigned_count / weight`: how many "rounds" of the
queue they have had. The queue's virtual time V is the weighted average over the members who
can take a lead now, `sum(counts) / sum(weights)`. A member is *eligible* when their virtual
time is at most V (they have not run ahead of their share) and among the eligible the one with
the earliest *virtual deadline* `(assigned_count + 1) / weight` goes next; ties go to the
oldest `last_assigned_at` (never assigned counts as oldest), then the lowest rep id. This is
the EEVDF rule (earliest eligible virtual deadline first). Simply picking the lowest virtual
time drifts by more than one lead from the ideal share with weights like 1/2/3/4/5; EEVDF
keeps every member within one lead of `n * weight / total weight` at every prefix.

Absences without floods. A member who was skipped (out of office, at capacity) keeps their
count, so they are behind when they come back and go next. To stop a long absence turning
into a flood, a member is never counted more than one round behind the others: their count
is raised to `weight * (V of the others - 1)` when it is lower. In an uninterrupted rotation
nobody is ever that far behind, so this never changes the fair order; after a break the
member catches up by at most one round. The raised count is what `RotationChoice.assigned_count`
tells the service to store.

Joining. `starting_assigned_count` puts a new (or re-added) member at the queue's virtual time:
they get their first lead within one round and their share from then on, without a flood of
"catch-up" leads and without waiting for everyone else's history.

Round robin is the same rule with every weight 1. Least loaded picks the member with the
fewest open assignments (relative to capacity when every candidate has one: open/capacity),
ties broken by the round-robin order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from functools import lru_cache
from typing import Any

from routing.engine.facts import LEAST_LOADED, ROUND_ROBIN, STRATEGIES, WEIGHTED, QueueMember


@dataclass(frozen=True)
class Candidate:
    """A queue member who can take a lead now, with their current load."""

    member: QueueMember
    open_assignments: int = 0
    capacity: int | None = None


@dataclass(frozen=True)
class Ranked:
    """A candidate's standing in the rotation, for the audit."""

    rep_id: Any
    assigned_count: int
    effective_count: int
    weight: float
    virtual_time: float
    virtual_deadline: float
    is_eligible: bool
    load: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rep_id": self.rep_id,
            "assigned_count": self.assigned_count,
            "effective_count": self.effective_count,
            "weight": self.weight,
            "virtual_time": round(self.virtual_time, 4),
            "virtual_deadline": round(self.virtual_deadline, 4),
            "is_eligible": self.is_eligible,
            "load": self.load,
        }


@dataclass(frozen=True)
class RotationChoice:
    """Who goes next, why, and the `assigned_count` to store for them (their count after this lead)."""

    rep_id: Any
    assigned_count: int
    reason: str
    ranking: tuple[Ranked, ...]


@lru_cache(maxsize=256)
def _ratio(weight: Any) -> tuple[int, int]:
    """A weight as (numerator, denominator); str() first so 0.1 is one tenth, not the nearest binary float."""
    exact = Fraction(str(weight))
    return exact.numerator, exact.denominator


def _weight(member: QueueMember, strategy: str) -> tuple[int, int]:
    if strategy != WEIGHTED:
        return (1, 1)
    numerator, denominator = _ratio(member.weight)
    if numerator <= 0:
        raise ValueError(f"rep {member.rep_id}: weight must be more than 0, not {member.weight}")
    return numerator, denominator


def _integer_weights(weights: list[tuple[int, int]]) -> list[int]:
    """The same ratios as whole numbers, so the hot path is integer arithmetic (Fraction is slow)."""
    scale = math.lcm(*(denominator for _, denominator in weights))
    integers = [numerator * (scale // denominator) for numerator, denominator in weights]
    common = math.gcd(*integers)
    return [value // common for value in integers]


def _oldest_first(moment: datetime | None) -> tuple[int, Any]:
    return (0, 0) if moment is None else (1, moment)


def _effective_counts(counts: list[int], weights: list[int]) -> list[int]:
    """Counts raised so that nobody is more than one round behind the others (see module docstring).

    One round is one lead for the lightest member: with weights w (lightest m) and the others'
    virtual time V = (S - c) / (W - w), the floor is w * V - w / m, rounded up.
    """
    if len(counts) < 2:
        return list(counts)
    total_count, total_weight, lightest = sum(counts), sum(weights), min(weights)
    effective = []
    for count, weight in zip(counts, weights, strict=True):
        numerator = weight * (total_count - count) * lightest - weight * (total_weight - weight)
        denominator = (total_weight - weight) * lightest
        effective.append(max(count, -(-numerator // denominator)))
    return effective


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def choose_next(strategy: str, candidates: Sequence[Candidate]) -> RotationChoice | None:
    """The candidate who gets the next lead under `strategy`, or None when there are none.

    `candidates` are the queue members who are available now (the caller has already skipped
    the inactive, out-of-office, at-capacity ones); skipped members simply are not candidates.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    if not candidates:
        return None
    exact = [_weight(candidate.member, strategy) for candidate in candidates]
    weights = _integer_weights(exact)
    counts = [candidate.member.assigned_count for candidate in candidates]
    effective = _effective_counts(counts, weights)
    total_count, total_weight = sum(effective), sum(weights)
    # virtual time c/w <= V = S/W, compared without division
    eligible = [count * total_weight <= total_count * weight for count, weight in zip(effective, weights, strict=True)]
    # virtual deadlines (c + 1) / w scaled by a common multiple of the weights: exact integers
    common = math.lcm(*weights)
    deadlines = [(count + 1) * (common // weight) for count, weight in zip(effective, weights, strict=True)]
    indexes = range(len(candidates))

    def turn_key(index: int) -> tuple:
        member = candidates[index].member
        return (deadlines[index], _oldest_first(member.last_assigned_at), member.rep_id)

    loads = _loads(candidates)
    if strategy == LEAST_LOADED:
        lowest = min(load for load, _ in loads)
        pool = [index for index in indexes if loads[index][0] == lowest]
        # among the equally loaded, the round-robin order (its eligibility rule too, when possible)
        in_turn = [index for index in pool if eligible[index]] or pool
        chosen = min(in_turn, key=turn_key)
    else:
        chosen = min((index for index in indexes if eligible[index]), key=turn_key)

    ranking = tuple(
        Ranked(
            rep_id=candidate.member.rep_id,
            assigned_count=counts[index],
            effective_count=effective[index],
            weight=exact[index][0] / exact[index][1],
            virtual_time=effective[index] * exact[index][1] / exact[index][0],
            virtual_deadline=(effective[index] + 1) * exact[index][1] / exact[index][0],
            is_eligible=eligible[index],
            load=loads[index][1],
        )
        for index, candidate in enumerate(candidates)
    )
    member = candidates[chosen].member
    tie = deadlines.count(deadlines[chosen]) > 1
    queue_time = total_count / sum(numerator / denominator for numerator, denominator in exact)
    reason = _reason(strategy, ranking[chosen], len(candidates), tie, queue_time)
    return RotationChoice(rep_id=member.rep_id, assigned_count=effective[chosen] + 1, reason=reason, ranking=ranking)


def _loads(candidates: Sequence[Candidate]) -> list[tuple[float, str]]:
    """(comparable load, words) per candidate: open/capacity when everyone has a capacity, else open.

    Float division of small integers is exact enough: equal ratios give equal floats.
    """
    if all(candidate.capacity for candidate in candidates):
        return [
            (candidate.open_assignments / candidate.capacity, f"{candidate.open_assignments}/{candidate.capacity} open")
            for candidate in candidates
        ]
    return [(float(candidate.open_assignments), f"{candidate.open_assignments} open") for candidate in candidates]


def _reason(strategy: str, chosen: Ranked, available: int, tie: bool, queue_time: float) -> str:
    count = chosen.effective_count
    catch_up = (
        f"; back after a break, counted as {count} instead of {chosen.assigned_count} so they "
        "catch up by at most one round"
        if count != chosen.assigned_count
        else ""
    )
    tie_words = ", longest since their last lead among equals" if tie else ""
    if strategy == LEAST_LOADED:
        return (
            f"least loaded: {chosen.load}, the lowest load of {available} available"
            f"; then turn order ({count} leads from this queue){tie_words}{catch_up}"
        )
    if strategy == ROUND_ROBIN:
        return (
            f"round robin: next in turn with {count} leads from this queue "
            f"(queue average {_fmt(queue_time)}, {available - 1} other available){tie_words}{catch_up}"
        )
    return (
        f"weighted round robin: weight {_fmt(chosen.weight)}, {count} leads from this queue, the earliest turn "
        f"(virtual deadline {_fmt(chosen.virtual_deadline)}, queue virtual time {_fmt(queue_time)})"
        f"{tie_words}{catch_up}"
    )


def starting_assigned_count(
    existing_members: Sequence[QueueMember], weight: float = 1, *, strategy: str = WEIGHTED
) -> int:
    """The `assigned_count` to store for a member joining (or re-joining) a queue.

    It puts them at the queue's virtual time (the weighted average of the existing members'),
    rounded down: neither a flood of catch-up leads nor a wait for everyone else's history.
    Pass the members as they are before the new one is added; an empty queue starts at 0.
    """
    members = list(existing_members)
    if not members:
        return 0
    new_weight = Fraction(*_ratio(weight)) if strategy == WEIGHTED else Fraction(1)
    if new_weight <= 0:
        raise ValueError(f"weight must be more than 0, not {weight}")
    weights = [Fraction(*_weight(member, strategy)) for member in members]
    queue_time = Fraction(sum(member.assigned_count for member in members)) / sum(weights)
    return math.floor(new_weight * queue_time)
