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
from typing import Any

from routing.engine.facts import STRATEGIES, QueueMember


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


def _weight(member: QueueMember, strategy: str) -> Fraction:
    if strategy != "weighted_round_robin":
        return Fraction(1)
    weight = Fraction(str(member.weight))
    if weight <= 0:
        raise ValueError(f"rep {member.rep_id}: weight must be more than 0, not {member.weight}")
    return weight


def _oldest_first(moment: datetime | None) -> tuple[int, Any]:
    return (0, 0) if moment is None else (1, moment)


def _effective_counts(counts: list[int], weights: list[Fraction]) -> list[int]:
    """Counts raised so that nobody is more than one round behind the others (see module docstring)."""
    if len(counts) < 2:
        return list(counts)
    total_count, total_weight = sum(counts), sum(weights)
    effective = []
    for count, weight in zip(counts, weights, strict=True):
        others = Fraction(total_count - count) / (total_weight - weight)
        effective.append(max(count, math.ceil(weight * (others - 1))))
    return effective


def _fmt(value: Fraction) -> str:
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def choose_next(strategy: str, candidates: Sequence[Candidate]) -> RotationChoice | None:
    """The candidate who gets the next lead under `strategy`, or None when there are none.

    `candidates` are the queue members who are available now (the caller has already skipped
    the inactive, out-of-office, at-capacity ones); skipped members simply are not candidates.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    if not candidates:
        return None
    weights = [_weight(candidate.member, strategy) for candidate in candidates]
    # Shares depend only on the ratios of weights; scaling the lightest to 1 makes "one round"
    # (the catch-up limit) at least one lead for everyone.
    lightest = min(weights)
    weights = [weight / lightest for weight in weights]
    counts = [candidate.member.assigned_count for candidate in candidates]
    effective = _effective_counts(counts, weights)
    queue_time = Fraction(sum(effective)) / sum(weights)
    times = [Fraction(count) / weight for count, weight in zip(effective, weights, strict=True)]
    deadlines = [Fraction(count + 1) / weight for count, weight in zip(effective, weights, strict=True)]
    eligible = [time <= queue_time for time in times]
    loads = _loads(candidates)

    def turn_key(index: int) -> tuple:
        member = candidates[index].member
        return (deadlines[index], _oldest_first(member.last_assigned_at), member.rep_id)

    if strategy == "least_loaded":
        lowest = min(loads[index][0] for index in range(len(candidates)))
        pool = [index for index in range(len(candidates)) if loads[index][0] == lowest]
        # among the equally loaded, the round-robin order (its eligibility rule too, when possible)
        in_turn = [index for index in pool if eligible[index]] or pool
        chosen = min(in_turn, key=turn_key)
    else:
        chosen = min((index for index in range(len(candidates)) if eligible[index]), key=turn_key)

    ranking = tuple(
        Ranked(
            rep_id=candidate.member.rep_id,
            assigned_count=counts[index],
            effective_count=effective[index],
            weight=float(weights[index] * lightest),
            virtual_time=float(times[index]),
            virtual_deadline=float(deadlines[index]),
            is_eligible=eligible[index],
            load=loads[index][1],
        )
        for index, candidate in enumerate(candidates)
    )
    member = candidates[chosen].member
    reason = _reason(strategy, chosen, candidates, counts, effective, weights, lightest, loads, queue_time, deadlines)
    return RotationChoice(rep_id=member.rep_id, assigned_count=effective[chosen] + 1, reason=reason, ranking=ranking)


def _loads(candidates: Sequence[Candidate]) -> list[tuple[Fraction, str]]:
    """(comparable load, words) per candidate: open/capacity when everyone has a capacity, else open."""
    relative = all(candidate.capacity for candidate in candidates)
    loads = []
    for candidate in candidates:
        if relative:
            load = Fraction(candidate.open_assignments, candidate.capacity)
            loads.append((load, f"{candidate.open_assignments}/{candidate.capacity} open"))
        else:
            loads.append((Fraction(candidate.open_assignments), f"{candidate.open_assignments} open"))
    return loads


def _reason(strategy, chosen, candidates, counts, effective, weights, lightest, loads, queue_time, deadlines) -> str:
    count, weight = effective[chosen], weights[chosen] * lightest
    others = len(candidates) - 1
    catch_up = (
        f"; back after a break, counted as {effective[chosen]} instead of {counts[chosen]} so they "
        "catch up by at most one round"
        if effective[chosen] != counts[chosen]
        else ""
    )
    tie = sum(1 for deadline in deadlines if deadline == deadlines[chosen]) > 1
    tie_words = ", longest since their last lead among equals" if tie else ""
    if strategy == "least_loaded":
        return (
            f"least loaded: {loads[chosen][1]}, the lowest load of {others + 1} available"
            f"; then turn order ({count} leads from this queue){tie_words}{catch_up}"
        )
    if strategy == "round_robin":
        return (
            f"round robin: next in turn with {count} leads from this queue "
            f"(queue average {_fmt(queue_time)}, {others} other available){tie_words}{catch_up}"
        )
    return (
        f"weighted round robin: weight {_fmt(weight)}, {count} leads from this queue, the earliest turn "
        f"(virtual deadline {_fmt(deadlines[chosen])}, queue virtual time {_fmt(queue_time)}){tie_words}{catch_up}"
    )


def starting_assigned_count(
    existing_members: Sequence[QueueMember], weight: float = 1, *, strategy: str = "weighted_round_robin"
) -> int:
    """The `assigned_count` to store for a member joining (or re-joining) a queue.

    It puts them at the queue's virtual time (the weighted average of the existing members'),
    rounded down: neither a flood of catch-up leads nor a wait for everyone else's history.
    Pass the members as they are before the new one is added; an empty queue starts at 0.
    """
    members = list(existing_members)
    if not members:
        return 0
    new_weight = Fraction(1) if strategy != "weighted_round_robin" else Fraction(str(weight))
    if new_weight <= 0:
        raise ValueError(f"weight must be more than 0, not {weight}")
    weights = [_weight(member, strategy) for member in members]
    queue_time = Fraction(sum(member.assigned_count for member in members)) / sum(weights)
    return math.floor(new_weight * queue_time)
