"""The SLA clock is part of the routing decision: the engine counts it in the chosen rep's
calendar (working hours, time zone, holidays) from the rep state it already holds."""

from datetime import UTC, date, datetime

import pytest

from routing.engine import (
    Queue,
    QueueMember,
    RepState,
    RoutingFacts,
    RoutingPolicy,
    RoutingRule,
    SlaTerms,
    WorkingHours,
    compile_policy,
    decide,
    decision_pick,
)

NOW = datetime(2025, 3, 7, 16, 30, tzinfo=UTC)  # Friday: 17:30 in Berlin, 11:30 in New York
OFFICE = WorkingHours.weekdays("09:00", "18:00")
POLICY = RoutingPolicy(rules=(RoutingRule(id=1, name="All", position=1, queue_id=10),), fallback_queue_id=99)
TERMS = {"normal": SlaTerms(first_touch_minutes=60, warning_minutes=45), "high": SlaTerms(15, 10)}


def rep(rep_id: int, time_zone: str, **fields) -> RepState:
    return RepState(rep_id, f"rep {rep_id}", time_zone=time_zone, working_hours=OFFICE, **fields)


def route(reps: dict, *, members=(1,), sla_terms=TERMS, priority=None):
    queues = {10: Queue(10, "All", "round_robin", tuple(QueueMember(rep_id) for rep_id in members))}
    facts = RoutingFacts(lead={"stage": "mql"}, account={}, score={}, lead_id=7)
    return decide(
        compile_policy(POLICY), facts, queues=queues, reps=reps, now=NOW, sla_terms=sla_terms, priority=priority
    )


@pytest.mark.parametrize(
    "time_zone, holidays, due_at",
    [
        # 30 minutes left today in Berlin, 30 more on Monday morning
        ("Europe/Berlin", frozenset(), datetime(2025, 3, 10, 8, 30, tzinfo=UTC)),
        # New York is mid-morning: due in an hour of wall-clock time
        ("America/New_York", frozenset(), datetime(2025, 3, 7, 17, 30, tzinfo=UTC)),
        # Monday is a Berlin holiday: the clock resumes on Tuesday
        ("Europe/Berlin", frozenset({date(2025, 3, 10)}), datetime(2025, 3, 11, 8, 30, tzinfo=UTC)),
    ],
)
def test_the_decision_carries_the_due_time_counted_in_the_chosen_reps_calendar(time_zone, holidays, due_at):
    decision = route({1: rep(1, time_zone, holidays=holidays)})

    assert decision.rep_id == 1
    assert decision.due_at == due_at
    assert decision.to_dict()["due_at"] == due_at.isoformat()
    assert decision.sla == f"first touch due within 60 business minutes ({time_zone})"


def test_the_warning_comes_before_the_due_time_by_the_terms_of_the_decisions_priority():
    decision = route({1: rep(1, "America/New_York")}, priority="high")

    assert decision.priority == "high"
    assert (decision.warn_at, decision.due_at) == (
        datetime(2025, 3, 7, 16, 40, tzinfo=UTC),
        datetime(2025, 3, 7, 16, 45, tzinfo=UTC),
    )


def test_a_waiting_lead_has_no_clock_until_a_rep_is_assigned():
    decision = route({1: rep(1, "Europe/Berlin", is_active=False)})

    assert decision.is_waiting
    assert (decision.warn_at, decision.due_at) == (None, None)
    assert "waiting" in decision.sla


def test_without_sla_terms_for_the_stage_there_is_no_due_time():
    decision = route({1: rep(1, "Europe/Berlin")}, sla_terms={})

    assert decision.rep_id == 1 and decision.due_at is None
    assert decision.sla == "no SLA policy for this stage and priority"


def test_a_rep_whose_calendar_has_no_working_time_gets_no_due_time_rather_than_a_wrong_one():
    closed = RepState(1, "rep 1", time_zone="UTC", working_hours=WorkingHours.parse({}))

    decision = route({1: closed})

    assert decision.rep_id == 1 and decision.due_at is None
    assert "no working time" in decision.sla


def test_a_managers_pick_counts_the_clock_in_the_picked_reps_calendar():
    berlin, new_york = rep(1, "Europe/Berlin"), rep(2, "America/New_York")
    decision = route({1: berlin})

    picked = decision_pick(decision, new_york, reason="Reassigned by Maya", sla_terms=TERMS)

    assert (picked.rep_id, picked.method, picked.turn) == (2, "manual", None)
    assert picked.due_at == datetime(2025, 3, 7, 17, 30, tzinfo=UTC)
