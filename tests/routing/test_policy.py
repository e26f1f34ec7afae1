"""The routing decision: account first, ordered rules with territories, fallback, rotation, audit."""

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from routing.engine import (
    OutOfOffice,
    Queue,
    QueueMember,
    RepState,
    RoutingFacts,
    RoutingPolicy,
    RoutingPolicyError,
    RoutingRule,
    Territory,
    WorkingHours,
    compile_policy,
    decide,
    match_rule,
    rep_availability,
    territory_match,
)

NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)  # a Tuesday, 11:00 in Berlin
EMEA_NORTH = Territory.build("EMEA-North", countries=["de", "NL", "SE"])
DACH = Territory.build("DACH", countries=["AT", "CH", "DE"])
ENTERPRISE = RoutingRule(
    id=1,
    name="Enterprise",
    position=1,
    queue_id=10,
    condition={"field": "account.employee_count", "op": "gte", "value": 1000},
    priority="high",
)
MID_MARKET = RoutingRule(
    id=2,
    name="Mid-market EMEA North",
    position=2,
    queue_id=20,
    condition={"field": "account.employee_count", "op": "between", "value": [100, 999]},
    territory=EMEA_NORTH,
)
PQL = RoutingRule(
    id=3, name="Product qualified", position=3, queue_id=30, condition={"field": "score.pql_path", "op": "exists"}
)
POLICY = RoutingPolicy(rules=(PQL, MID_MARKET, ENTERPRISE), fallback_queue_id=99, fallback_priority="low")
QUEUES = {
    10: Queue(10, "Enterprise AEs", "round_robin", (QueueMember(1), QueueMember(2))),
    20: Queue(20, "EMEA mid-market", "round_robin", (QueueMember(3),)),
    30: Queue(30, "PQL desk", "least_loaded", (QueueMember(4),)),
    99: Queue(99, "Triage", "round_robin", (QueueMember(5),)),
}
REPS = {
    rep_id: RepState(rep_id, name, capacity=10, time_zone="Europe/Berlin")
    for rep_id, name in [(1, "Alice"), (2, "Bob"), (3, "Carol"), (4, "Dave"), (5, "Erin")]
}


def facts(*, employees=250, country="DE", pql=None, owner=None, account_reps=()) -> RoutingFacts:
    return RoutingFacts(
        lead={"stage": "mql", "title": "VP Sales", "country": country, "source": "webinar"},
        account={"employee_count": employees, "country": country, "industry": "Software"},
        score={"total": 70, "grade": "B", "pql_path": pql},
        account_owner_id=owner,
        account_rep_ids=account_reps,
        lead_id=7,
    )


def route(lead: RoutingFacts, *, policy: RoutingPolicy = POLICY, reps=None, queues=None):
    return decide(compile_policy(policy), lead, queues=queues or QUEUES, reps=reps or REPS, now=NOW)


def with_rep(rep_id: int, **changes) -> dict:
    reps = dict(REPS)
    reps[rep_id] = RepState(**{**REPS[rep_id].__dict__, **changes})
    return reps


def test_the_first_matching_rule_picks_the_queue_and_says_why_earlier_rules_did_not():
    # when
    decision = route(facts(employees=250, country="DE"))

    # then
    assert (decision.method, decision.queue_id, decision.rep_id, decision.rule_id) == ("rule", 20, 3, 2)
    assert [(check.name, check.matched, check.reason) for check in decision.rules] == [
        ("Enterprise", False, "account.employee_count is 250, needs at least 1000"),
        (
            "Mid-market EMEA North",
            True,
            "account.employee_count is 250, between 100 and 999; in territory EMEA-North (account.country DE)",
        ),
    ]
    assert decision.rules[1].definition == "the account's employee count is between 100 and 999"


def test_a_territory_mismatch_is_named():
    # when
    decision = route(facts(employees=250, country="GB", pql="plan_limit"))

    # then
    assert decision.rules[1].reason == "account.country GB not in territory EMEA-North countries (DE, NL, SE)"
    assert (decision.queue_id, decision.rule_id, decision.rep_id) == (30, 3, 4)


def test_no_matching_rule_sends_the_lead_to_the_fallback_queue():
    # when
    decision = route(facts(employees=40, country="GB"))

    # then
    assert (decision.method, decision.queue_id, decision.rep_id, decision.rule_id) == ("fallback", 99, 5, None)
    assert decision.priority == "low"
    assert [check.matched for check in decision.rules] == [False, False, False]
    assert decision.reason.startswith("no rule matched: fallback queue -> queue Triage; Erin chosen by round robin")


def test_the_account_owner_wins_over_the_rules_when_available():
    # when
    decision = route(facts(employees=5000, owner=4))

    # then: the owner, in the queue and priority the rules chose, and the rotation did not move
    assert (decision.method, decision.rep_id, decision.queue_id, decision.priority) == ("account_owner", 4, 10, "high")
    assert decision.turn is None
    assert decision.reason.startswith("Dave is the account's owner and is available")


def test_an_unavailable_owner_falls_through_to_the_rep_working_the_account():
    # given: the owner is out of office until Friday 09:00 Berlin
    away = OutOfOffice(datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 7, 8, 0, tzinfo=UTC))
    reps = with_rep(4, out_of_office=(away,))

    # when
    decision = route(facts(employees=5000, owner=4, account_reps=(3,)), reps=reps)

    # then
    assert (decision.method, decision.rep_id) == ("account_rep", 3)
    owner = decision.reps[0]
    assert (owner.role, owner.is_available, owner.code) == ("account_owner", False, "out_of_office")
    assert owner.reason == "Dave: out of office until Fri 2025-03-07 09:00 Europe/Berlin"
    assert owner.back_at == datetime(2025, 3, 7, 8, 0, tzinfo=UTC)


def test_unavailable_account_reps_fall_through_to_the_rules():
    # given: the owner is inactive and the account's other rep is at capacity
    reps = with_rep(4, is_active=False)
    reps[3] = RepState(3, "Carol", capacity=10, open_assignments=10)

    # when
    decision = route(facts(employees=5000, owner=4, account_reps=(3, 4)), reps=reps)

    # then
    assert (decision.method, decision.queue_id, decision.rep_id) == ("rule", 10, 1)
    assert [(check.rep_id, check.role, check.reason) for check in decision.reps[:2]] == [
        (4, "account_owner", "Dave: inactive"),
        (3, "account_rep", "Carol: at capacity 10/10"),
    ]


def test_an_owner_unknown_to_routing_is_skipped():
    # when
    decision = route(facts(employees=5000, owner=42))

    # then
    assert decision.method == "rule"
    assert decision.reps[0].reason == "rep 42 is not known to routing"


def test_account_routing_can_be_switched_off():
    # given
    policy = RoutingPolicy(rules=POLICY.rules, fallback_queue_id=99, account_routing=False)

    # when
    decision = route(facts(employees=5000, owner=4), policy=policy)

    # then
    assert (decision.method, decision.rep_id) == ("rule", 1)


def test_nobody_available_leaves_the_lead_waiting_in_its_matched_queue():
    # given: both enterprise reps unavailable
    reps = with_rep(1, is_active=False)
    reps[2] = RepState(2, "Bob", capacity=10, open_assignments=10)

    # when
    decision = route(facts(employees=5000), reps=reps)

    # then
    assert (decision.method, decision.queue_id, decision.rep_id, decision.is_waiting) == ("rule", 10, None, True)
    assert decision.turn is None
    assert decision.reason.endswith("-> queue Enterprise AEs; nobody available (2 members): waiting")
    assert [check.reason for check in decision.reps] == ["Alice: inactive", "Bob: at capacity 10/10"]


def test_overflow_sends_the_lead_to_the_fallback_queue_when_its_queue_has_nobody():
    # given
    policy = RoutingPolicy(rules=POLICY.rules, fallback_queue_id=99, overflow_to_fallback=True)
    reps = with_rep(1, is_active=False)
    reps[2] = RepState(2, "Bob", is_active=False)

    # when
    decision = route(facts(employees=5000), policy=policy, reps=reps)

    # then: the rule's priority, the fallback queue's rep
    assert (decision.method, decision.queue_id, decision.rep_id, decision.priority) == ("overflow", 99, 5, "high")
    assert decision.turn.queue_id == 99


def test_working_hours_block_assignment_only_when_the_policy_says_so():
    # given: Alice works 12:00-17:00 Berlin; it is 11:00 there
    reps = with_rep(1, working_hours=WorkingHours.weekdays("12:00", "17:00"))
    strict = RoutingPolicy(rules=POLICY.rules, fallback_queue_id=99, respect_working_hours=True)

    # when
    default = route(facts(employees=5000), reps=reps)
    respecting = route(facts(employees=5000), reps=reps, policy=strict)

    # then
    assert default.rep_id == 1
    assert respecting.rep_id == 2
    assert respecting.reps[0].reason == "Alice: outside working hours until Tue 2025-03-04 12:00 Europe/Berlin"


def test_a_queue_member_outside_their_territories_is_skipped():
    # given: Alice covers DACH only; the lead is British
    reps = with_rep(1, territories=(DACH,))

    # when
    decision = route(facts(employees=5000, country="GB"), reps=reps)
    ignoring = route(
        facts(employees=5000, country="GB"),
        reps=reps,
        policy=RoutingPolicy(rules=POLICY.rules, fallback_queue_id=99, respect_rep_territories=False),
    )

    # then
    assert decision.rep_id == 2
    assert decision.reps[0].reason == (
        "Alice: outside the rep's territories (DACH): account.country GB not in territory DACH countries (AT, CH, DE)"
    )
    assert decision.reps[0].code == "outside_territory"
    assert ignoring.rep_id == 1


def test_the_decision_says_which_turn_to_store():
    # given: Alice has had 4 leads from the queue, Bob 3
    queues = dict(QUEUES)
    queues[10] = Queue(10, "Enterprise AEs", "round_robin", (QueueMember(1, 4), QueueMember(2, 3)))

    # when
    decision = route(facts(employees=5000), queues=queues)

    # then
    assert decision.rep_id == 2
    assert decision.turn.to_dict() == {"queue_id": 10, "rep_id": 2, "assigned_count": 4, "previous_count": 3}


def test_the_audit_is_json_ready():
    # given
    away = OutOfOffice(datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 7, 8, 0, tzinfo=UTC))
    decision = route(facts(employees=5000, owner=4), reps=with_rep(4, out_of_office=(away,)))

    # when
    audit = json.loads(json.dumps(decision.to_dict()))

    # then
    assert audit["method"] == "rule"
    assert audit["rule_name"] == "Enterprise"
    assert audit["reps"][0]["back_at"] == "2025-03-07T08:00:00+00:00"
    assert audit["turn"] == {"queue_id": 10, "rep_id": 1, "assigned_count": 1, "previous_count": 0}
    assert {ranked["rep_id"] for ranked in audit["rotation"]} == {1, 2}
    assert audit["decided_at"] == NOW.isoformat()
    assert len(audit["policy_hash"]) == 64


def test_a_rule_without_condition_matches_every_lead():
    # given
    everyone = RoutingRule(id=9, name="Everyone", position=1, queue_id=30)
    policy = RoutingPolicy(rules=(everyone,), fallback_queue_id=99)

    # when
    decision = route(facts(employees=1), policy=policy)

    # then
    assert (decision.rule_id, decision.queue_id) == (9, 30)
    assert decision.rules[0].reason == "no condition"


def test_match_rule_can_run_first_so_the_service_can_lock_the_queue():
    # given
    compiled = compile_policy(POLICY)
    lead = facts(employees=5000)

    # when
    matched = match_rule(compiled, lead)
    decision = decide(compiled, lead, queues={10: QUEUES[10]}, reps=REPS, now=NOW, match=matched)

    # then
    assert matched.queue_id == 10
    assert decision.rep_id == 1


def test_a_queue_missing_from_the_inputs_is_a_clear_error():
    # when / then
    with pytest.raises(ValueError, match="queue 10 .* was not given"):
        decide(compile_policy(POLICY), facts(employees=5000), queues={}, reps=REPS, now=NOW)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            RoutingRule(1, "Events", 1, 10, {"field": "properties.path", "op": "eq", "value": "/x"}),
            "rule 'Events': condition: field 'properties.path' must start with one of lead, account, score",
        ),
        (RoutingRule(1, "Typo", 1, 10, {"field": "lead.title", "op": "equals", "value": "x"}), "operator 'equals'"),
        (RoutingRule(1, "Urgent", 1, 10, priority="urgent"), "priority 'urgent' is not one of high, normal, low"),
        (RoutingRule(1, "Nowhere", 1, None), "needs a target queue"),
        (RoutingRule(1, " ", 1, 10), "needs a name"),
    ],
)
def test_an_invalid_rule_is_refused_in_words(rule, message):
    # when / then
    with pytest.raises(RoutingPolicyError) as error:
        compile_policy(RoutingPolicy(rules=(rule,), fallback_queue_id=99))
    assert any(message in problem for problem in error.value.errors), error.value.errors


def test_a_policy_is_compiled_once_per_content():
    # given: the same rules, built twice
    again = RoutingPolicy(rules=(PQL, MID_MARKET, ENTERPRISE), fallback_queue_id=99, fallback_priority="low")
    changed = RoutingPolicy(rules=(PQL, ENTERPRISE), fallback_queue_id=99, fallback_priority="low")

    # when / then
    assert compile_policy(again) is compile_policy(POLICY)
    assert compile_policy(changed) is not compile_policy(POLICY)
    assert compile_policy(changed).content_hash != compile_policy(POLICY).content_hash


@pytest.mark.parametrize(
    ("territory", "context", "matched", "reason"),
    [
        (EMEA_NORTH, {"account": {"country": "de"}}, True, "in territory EMEA-North (account.country DE)"),
        (EMEA_NORTH, {"account": {}, "lead": {"country": "NL"}}, True, "in territory EMEA-North (lead.country NL)"),
        (
            EMEA_NORTH,
            {"account": {}, "lead": {}},
            False,
            "account.country unknown not in territory EMEA-North countries (DE, NL, SE)",
        ),
        (
            Territory.build("West", regions=["California", "Oregon"]),
            {"account": {"region": "CALIFORNIA"}},
            True,
            "in territory West (account.region 'CALIFORNIA')",
        ),
        (
            Territory.build("West", regions=["California"]),
            {"account": {"region": "Texas"}},
            False,
            "account.region 'Texas' not in territory West regions (california)",
        ),
        (
            Territory.build("Fintech", industries=["Financial Services"]),
            {"account": {"industry": "Software"}},
            False,
            "account.industry 'Software' not in territory Fintech industries (financial services)",
        ),
        (
            Territory.build("Mid", employee_bands=[(100, 999), (5000, None)]),
            {"account": {"employee_count": 40}},
            False,
            "account.employee_count 40 not in territory Mid employee bands (100-999, 5000+)",
        ),
        (
            Territory.build("Mid", employee_bands=[(100, 999), (5000, None)]),
            {"account": {"employee_count": 12000}},
            True,
            "in territory Mid (account.employee_count 12000)",
        ),
        (
            Territory.build("Mid", employee_bands=[(None, 50)]),
            {"account": {"employee_count": "many"}},
            False,
            "account.employee_count 'many' not in territory Mid employee bands (up to 50)",
        ),
        (
            Territory.build("DE big", countries=["DE"], employee_bands=[(1000, None)]),
            {"account": {"country": "DE", "employee_count": 200}},
            False,
            "account.employee_count 200 not in territory DE big employee bands (1000+)",
        ),
        (Territory.build("Anywhere"), {"account": {}}, True, "territory Anywhere covers everyone"),
    ],
)
def test_territory_matching(territory, context, matched, reason):
    # when / then
    assert territory_match(territory, context) == (matched, reason)


BERLIN_REP = RepState(1, "Alice", capacity=10, open_assignments=3, time_zone="Europe/Berlin")


@pytest.mark.parametrize(
    ("changes", "respect_hours", "available", "code", "reason"),
    [
        ({}, False, True, "available", "available (3/10 open)"),
        ({"capacity": None}, False, True, "available", "available (3 open)"),
        ({"is_active": False}, False, False, "inactive", "inactive"),
        ({"open_assignments": 10}, False, False, "at_capacity", "at capacity 10/10"),
        ({"capacity": 0, "open_assignments": 0}, False, False, "at_capacity", "at capacity 0/0"),
        (
            {"out_of_office": (OutOfOffice(NOW - timedelta(days=1), NOW + timedelta(hours=2)),)},
            False,
            False,
            "out_of_office",
            "out of office until Tue 2025-03-04 13:00 Europe/Berlin",
        ),
        (
            # two ranges that touch: back when the second ends
            {
                "out_of_office": (
                    OutOfOffice(NOW - timedelta(days=1), NOW + timedelta(hours=2)),
                    OutOfOffice(NOW + timedelta(hours=2), NOW + timedelta(days=2)),
                )
            },
            False,
            False,
            "out_of_office",
            "out of office until Thu 2025-03-06 11:00 Europe/Berlin",
        ),
        (
            {"out_of_office": (OutOfOffice(NOW - timedelta(days=1)),)},
            False,
            False,
            "out_of_office",
            "out of office, no return date",
        ),
        (
            {"out_of_office": (OutOfOffice(NOW + timedelta(hours=1), NOW + timedelta(days=1)),)},
            False,
            True,
            "available",
            "available (3/10 open)",
        ),
        (
            {"out_of_office": (OutOfOffice(NOW - timedelta(days=2), NOW),)},
            False,
            True,
            "available",
            "available (3/10 open)",
        ),
        ({"working_hours": WorkingHours.weekdays("12:00", "17:00")}, False, True, "available", "available (3/10 open)"),
        (
            {"working_hours": WorkingHours.weekdays("12:00", "17:00")},
            True,
            False,
            "outside_working_hours",
            "outside working hours until Tue 2025-03-04 12:00 Europe/Berlin",
        ),
        (
            {"working_hours": WorkingHours.weekdays("09:00", "17:00"), "holidays": frozenset({date(2025, 3, 4)})},
            True,
            False,
            "outside_working_hours",
            "outside working hours until Wed 2025-03-05 09:00 Europe/Berlin",
        ),
        ({"working_hours": WorkingHours.weekdays("09:00", "17:00")}, True, True, "available", "available (3/10 open)"),
    ],
)
def test_rep_availability(changes, respect_hours, available, code, reason):
    # given
    rep = RepState(**{**BERLIN_REP.__dict__, **changes})

    # when
    availability = rep_availability(rep, NOW, respect_working_hours=respect_hours)

    # then
    assert (availability.is_available, availability.code, availability.reason) == (available, code, reason)
    is_available, why = availability
    assert (is_available, why) == (available, reason)


def test_a_decision_costs_microseconds():
    # given: 20 rules of which the last matches, and a queue of 10 reps
    rules = tuple(
        RoutingRule(
            id=index,
            name=f"Rule {index}",
            position=index,
            queue_id=10,
            condition={
                "all": [
                    {"field": "account.employee_count", "op": "gte", "value": 1000 - index},
                    {"field": "lead.country", "op": "in", "value": ["DE", "FR", "GB"]},
                ]
            },
            territory=EMEA_NORTH,
        )
        for index in range(20)
    )
    policy = RoutingPolicy(rules=rules, fallback_queue_id=10)
    queue = Queue(10, "Big", "weighted", tuple(QueueMember(rep_id, rep_id, weight=2) for rep_id in range(10)))
    reps = {rep_id: RepState(rep_id, f"Rep {rep_id}", capacity=20, open_assignments=rep_id) for rep_id in range(10)}
    compiled = compile_policy(policy)
    lead = facts(employees=990, country="DE")
    runs = 500

    # when
    started = time.perf_counter()
    for _ in range(runs):
        decision = decide(compiled, lead, queues={10: queue}, reps=reps, now=NOW)
    per_decision = (time.perf_counter() - started) / runs

    # then: well under a millisecond (about 180 microseconds here, 11 rules tried and 10 reps ranked)
    assert decision.rule_id == 10
    assert per_decision < 0.002, f"{per_decision * 1e6:.0f} µs per decision"
