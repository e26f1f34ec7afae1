"""One vocabulary for rotation strategies: the database stores the engine's own words."""

import pytest

from routing.engine import STRATEGIES
from routing.engine.facts import QueueMember
from routing.engine.rotation import Candidate, choose_next
from routing.models import Strategy
from routing.selectors.policy import engine_queues
from tests.routing.world import make_queue, make_rep, rep_user


def test_the_database_and_the_engine_name_the_strategies_with_the_same_words():
    assert tuple(Strategy.values) == STRATEGIES


@pytest.mark.parametrize("strategy", Strategy.values)
def test_the_engine_accepts_every_strategy_a_queue_row_can_store(strategy):
    choice = choose_next(strategy, [Candidate(QueueMember(1, weight=2)), Candidate(QueueMember(2))])

    assert choice is not None


@pytest.mark.django_db
def test_a_weighted_queue_reaches_the_engine_as_stored(django_user_model):
    rep = make_rep(rep_user(django_user_model, "wes"))
    queue = make_queue("Weighted", [rep], strategy=Strategy.WEIGHTED)

    assert engine_queues([queue])[queue.id].strategy == Strategy.WEIGHTED == "weighted"
