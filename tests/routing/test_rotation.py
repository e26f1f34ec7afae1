"""Rotation strategies: fair at every prefix, stateless, and stable as reps come and go."""

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.engine.facts import QueueMember
from routing.engine.rotation import Candidate, choose_next, starting_assigned_count

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def queue(*weights: float) -> dict[int, QueueMember]:
    return {rep_id: QueueMember(rep_id, weight=weight) for rep_id, weight in enumerate(weights, start=1)}


def route(
    strategy: str,
    members: dict[int, QueueMember],
    leads: int,
    *,
    is_available: Callable[[int, int], bool] = lambda step, rep_id: True,
    first_step: int = 0,
) -> list[int]:
    """Route `leads` leads, storing each choice's count the way the service does; the rep ids in order."""
    order = []
    for step in range(first_step, first_step + leads):
        candidates = [Candidate(member) for member in members.values() if is_available(step, member.rep_id)]
        choice = choose_next(strategy, candidates)
        chosen = members[choice.rep_id]
        members[choice.rep_id] = replace(
            chosen, assigned_count=choice.assigned_count, last_assigned_at=T0 + timedelta(minutes=step)
        )
        order.append(choice.rep_id)
    return order


def worst_drift(order: list[int], shares: dict[int, float]) -> float:
    """The largest gap, over every prefix, between the leads of the reps in `shares` and their ideal share."""
    counts = dict.fromkeys(shares, 0)
    worst = 0.0
    for routed, rep_id in enumerate(order, start=1):
        if rep_id in counts:
            counts[rep_id] += 1
        worst = max(worst, *(abs(counts[rep] - routed * share) for rep, share in shares.items()))
    return worst


def test_round_robin_takes_turns_in_order():
    # when
    order = route("round_robin", queue(1, 1, 1), 9)

    # then
    assert order == [1, 2, 3, 1, 2, 3, 1, 2, 3]


def test_round_robin_ignores_weights():
    # when
    order = route("round_robin", queue(1, 5, 2), 300)

    # then
    assert [order.count(rep_id) for rep_id in (1, 2, 3)] == [100, 100, 100]


@pytest.mark.parametrize(
    ("strategy", "weights"),
    [
        ("round_robin", (1, 1, 1)),
        ("round_robin", (1, 1, 1, 1, 1)),
        ("weighted", (1, 2, 3)),
        ("weighted", (1, 2, 3, 4, 5)),
        ("weighted", (5, 1, 1, 1)),
        ("weighted", (1, 1, 1, 7)),
        ("weighted", (2, 3)),
        ("weighted", (0.5, 1.5, 1)),
    ],
)
def test_every_rep_stays_within_one_lead_of_their_share_at_every_prefix(strategy, weights):
    # given
    members = queue(*weights)
    if strategy == "round_robin":
        weights = (1,) * len(weights)
    shares = {rep_id: weight / sum(weights) for rep_id, weight in enumerate(weights, start=1)}

    # when
    order = route(strategy, members, 1000)

    # then
    assert worst_drift(order, shares) < 1


def test_weighted_round_robin_gives_exact_shares_after_whole_rounds():
    # when
    order = route("weighted", queue(1, 2, 3), 600)

    # then
    assert [order.count(rep_id) for rep_id in (1, 2, 3)] == [100, 200, 300]


def test_a_rep_skipped_at_capacity_is_next_when_back():
    # given: a warm rotation, then rep 1 at capacity for five leads
    members = queue(1, 1, 1)
    route("round_robin", members, 30)
    route("round_robin", members, 5, is_available=lambda step, rep_id: rep_id != 1, first_step=30)

    # when
    order = route("round_robin", members, 3, first_step=35)

    # then: rep 1 did not lose their turn
    assert order[0] == 1


def test_a_long_absence_brings_the_rep_back_first_but_without_a_flood():
    # given: rep 1 out of office while 300 leads went to the others
    members = queue(1, 1, 1)
    route("round_robin", members, 30)
    route("round_robin", members, 300, is_available=lambda step, rep_id: rep_id != 1, first_step=30)

    # when
    order = route("round_robin", members, 30, first_step=330)

    # then: first back, then a third of the leads, not 150 catch-up leads in a row
    assert order[0] == 1
    assert order[:6] == [1, 2, 3, 1, 2, 3]
    assert order.count(1) == 10


@pytest.mark.parametrize(
    ("strategy", "weights", "new_weight"),
    [
        ("round_robin", (1, 1, 1), 1),
        ("weighted", (1, 2, 3), 2),
        ("weighted", (1, 2, 3), 1),
        ("weighted", (3, 1), 5),
    ],
)
def test_a_rep_added_midway_gets_their_share_without_a_flood_or_a_wait(strategy, weights, new_weight):
    # given: 301 leads routed, then a new member at the starting count
    members = queue(*weights)
    route(strategy, members, 301)
    members[99] = QueueMember(99, weight=new_weight)
    members[99] = replace(
        members[99], assigned_count=starting_assigned_count(list(members.values())[:-1], new_weight, strategy=strategy)
    )
    if strategy == "round_robin":
        weights, new_weight = (1,) * len(weights), 1

    # when
    order = route(strategy, members, 400, first_step=301)

    # then: their first lead within one round, and their share from then on within one lead; the
    # others within two (the less-than-one lead they were off their share when the rep joined, plus one)
    assert order.index(99) < len(members)
    total = sum(weights) + new_weight
    assert worst_drift(order, {99: new_weight / total}) < 1
    assert worst_drift(order, {rep_id: weight / total for rep_id, weight in enumerate(weights, start=1)}) < 2


def test_removing_a_rep_keeps_the_others_order():
    # given: 100 leads in a round robin of four, then rep 2 leaves
    members = queue(1, 1, 1, 1)
    before = route("round_robin", members, 101)
    del members[2]

    # when
    after = route("round_robin", members, 9, first_step=101)

    # then: the rotation was 1, 2, 3, 4 and stopped after rep 1; the others carry on, skipping rep 2
    assert before[-4:] == [2, 3, 4, 1]
    assert after == [3, 4, 1] * 3


@pytest.mark.parametrize(
    ("loads", "expected"),
    [
        # (open, capacity) per rep 1, 2, 3
        (((3, None), (1, None), (2, None)), 2),
        (((3, 10), (2, 4), (4, 20)), 3),  # relative to capacity: 0.3, 0.5, 0.2
        (((3, 10), (2, None), (4, 20)), 2),  # someone has no capacity: plain counts
        (((2, None), (2, None), (5, None)), 1),  # a tie goes by turn order
    ],
)
def test_least_loaded_picks_the_lightest_load(loads, expected):
    # given
    candidates = [
        Candidate(QueueMember(rep_id), open_assignments=open_count, capacity=capacity)
        for rep_id, (open_count, capacity) in enumerate(loads, start=1)
    ]

    # when
    choice = choose_next("least_loaded", candidates)

    # then
    assert choice.rep_id == expected
    assert choice.reason.startswith("least loaded")


def test_least_loaded_breaks_ties_by_turns_taken():
    # given: equal loads, rep 1 has had more leads from the queue
    candidates = [
        Candidate(QueueMember(1, assigned_count=5, last_assigned_at=T0), open_assignments=1),
        Candidate(QueueMember(2, assigned_count=3, last_assigned_at=T0 + timedelta(hours=1)), open_assignments=1),
    ]

    # when
    choice = choose_next("least_loaded", candidates)

    # then
    assert choice.rep_id == 2


def test_ties_go_to_the_longest_waiting_then_the_lowest_id():
    # given: equal counts
    candidates = [
        Candidate(QueueMember(3, assigned_count=4, last_assigned_at=T0)),
        Candidate(QueueMember(1, assigned_count=4, last_assigned_at=T0 + timedelta(minutes=5))),
        Candidate(QueueMember(2, assigned_count=4, last_assigned_at=T0)),
    ]

    # when
    choice = choose_next("round_robin", candidates)

    # then
    assert choice.rep_id == 2
    assert choice.assigned_count == 5


def test_nobody_available_gives_no_choice():
    # when / then
    assert choose_next("round_robin", []) is None


@pytest.mark.parametrize(
    ("counts", "weights", "new_weight", "strategy", "expected"),
    [
        ((), (), 1, "round_robin", 0),
        ((10, 11, 12), (1, 1, 1), 1, "round_robin", 11),
        ((10, 11, 13), (1, 1, 1), 1, "round_robin", 11),  # 11.33 rounded down
        ((10, 20, 30), (1, 2, 3), 2, "weighted", 20),
        ((10, 20, 30), (1, 2, 3), 3, "weighted", 30),
        ((10, 20, 30), (1, 2, 3), 3, "round_robin", 20),  # weights do not count in round robin
    ],
)
def test_a_new_member_starts_at_the_queue_virtual_time(counts, weights, new_weight, strategy, expected):
    # given
    existing = [
        QueueMember(rep_id, assigned_count=count, weight=weight)
        for rep_id, (count, weight) in enumerate(zip(counts, weights, strict=True), start=1)
    ]

    # when
    start = starting_assigned_count(existing, new_weight, strategy=strategy)

    # then
    assert start == expected


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: choose_next("lottery", [Candidate(QueueMember(1))]), "not one of"),
        (lambda: choose_next("weighted", [Candidate(QueueMember(1, weight=0))]), "more than 0"),
        (lambda: starting_assigned_count([QueueMember(1)], -1), "more than 0"),
    ],
)
def test_it_rejects_unknown_strategies_and_non_positive_weights(call, message):
    # when / then
    with pytest.raises(ValueError, match=message):
        call()


@settings(max_examples=40, deadline=None)
@given(weights=st.lists(st.integers(1, 8), min_size=1, max_size=7))
def test_weighted_round_robin_is_fair_for_any_weights(weights):
    # given
    shares = {rep_id: weight / sum(weights) for rep_id, weight in enumerate(weights, start=1)}

    # when
    order = route("weighted", queue(*weights), 300)

    # then
    assert worst_drift(order, shares) < 1


@settings(max_examples=100, deadline=None)
@given(
    counts=st.lists(st.integers(0, 50), min_size=1, max_size=6),
    weights=st.lists(st.integers(1, 5), min_size=6, max_size=6),
    strategy=st.sampled_from(["round_robin", "weighted", "least_loaded"]),
    seed=st.integers(0, 1000),
)
def test_the_choice_depends_only_on_the_stored_state_not_on_listing_order(counts, weights, strategy, seed):
    # given: the same members, listed in another order (as another worker or a restart might)
    candidates = [
        Candidate(
            QueueMember(rep_id, assigned_count=count, weight=weights[rep_id - 1], last_assigned_at=T0),
            open_assignments=count % 3,
        )
        for rep_id, count in enumerate(counts, start=1)
    ]
    shuffled = candidates[:]
    random.Random(seed).shuffle(shuffled)

    # when
    first, second = choose_next(strategy, candidates), choose_next(strategy, shuffled)

    # then
    assert (first.rep_id, first.assigned_count) == (second.rep_id, second.assigned_count)
