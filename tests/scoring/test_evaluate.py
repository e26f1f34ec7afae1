import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.engine import EventFacts, compile_version, evaluate
from tests.conditions.test_language import valid_conditions
from tests.scoring.builders import NOW, days_ago, event, facts, page

THRESHOLDS = {
    "mql": {"fit_min": 20, "engagement_min": 10, "total_min": 40},
    "hot": {"total_min": 100},
    "grades": {"A": 30, "B": 20, "C": 10},
}


def version(**sections):
    return compile_version({"schema": 1, "thresholds": THRESHOLDS, **sections})


def engagement_rule(**overrides):
    return {"name": "Demo", "points": 10, "event": "Demo Requested", **overrides}


def path(kind, **fields):
    return {"name": fields.pop("name", kind), "kind": kind, **fields}


FIT_RULES = [
    {"name": "Senior", "points": 20, "when": {"field": "lead.seniority", "op": "eq", "value": "vp"}},
    {"name": "Big", "points": 15, "when": {"field": "account.employee_count", "op": "gte", "value": 100}},
]


@pytest.mark.parametrize(
    ("lead", "account", "fit", "grade"),
    [
        ({"seniority": "vp"}, {"employee_count": 500}, 35, "A"),
        ({"seniority": "vp"}, {"employee_count": 5}, 20, "B"),
        ({"seniority": "ic"}, {"employee_count": 500}, 15, "C"),
        ({"seniority": "ic"}, None, 0, "D"),
    ],
)
def test_it_adds_up_fit_rules_and_grades_the_fit(lead, account, fit, grade):
    # given
    compiled = version(fit_rules=FIT_RULES)

    # when
    result = evaluate(compiled, facts(lead=lead, account=account))

    # then
    assert (result.fit, result.grade) == (fit, grade)


def test_it_records_the_attribute_values_that_made_a_fit_rule_fire():
    # given
    compiled = version(fit_rules=FIT_RULES)

    # when
    result = evaluate(compiled, facts(lead={"seniority": "vp"}, account={"employee_count": 500}))

    # then
    assert [(hit.name, hit.points, hit.evidence) for hit in result.hits] == [
        ("Senior", 20, {"values": {"lead.seniority": "vp"}}),
        ("Big", 15, {"values": {"account.employee_count": 500}}),
    ]


@pytest.mark.parametrize(
    ("rule", "ages", "points", "count"),
    [
        (engagement_rule(), [1, 2, 3], 30, 3),
        (engagement_rule(max_count=2), [1, 2, 3], 20, 2),
        (engagement_rule(max_points=25), [1, 2, 3], 25, 3),
        (engagement_rule(window_days=10), [1, 5, 11, 40], 20, 2),
        (engagement_rule(half_life_days=10), [10], 5, 1),
        (engagement_rule(half_life_days=10), [20, 0], 12.5, 2),
    ],
)
def test_it_applies_caps_windows_and_decay_to_engagement_rules(rule, ages, points, count):
    # given
    compiled = version(engagement_rules=[rule])
    events = [event("Demo Requested", days=age) for age in ages]

    # when
    result = evaluate(compiled, facts(*events))

    # then
    (hit,) = result.hits
    assert (hit.points, hit.count, result.engagement) == (points, count, points)
    assert hit.evidence["event_ids"] == [item.id for item in sorted(events, key=lambda item: -item.epoch)][:count]


def test_a_count_cap_keeps_the_most_recent_events_so_decay_hurts_least():
    # given
    compiled = version(engagement_rules=[engagement_rule(max_count=1, half_life_days=5)])
    old, recent = event("Demo Requested", days=20), event("Demo Requested", days=0)

    # when
    result = evaluate(compiled, facts(old, recent))

    # then
    assert result.engagement == 10
    assert result.hits[0].evidence["event_ids"] == [recent.id]


def test_decay_lowers_the_same_engagement_over_time_without_new_events():
    # given
    compiled = version(engagement_rules=[engagement_rule(half_life_days=7, window_days=90)])
    demo = event("Demo Requested", days=0)

    # when
    scores = [evaluate(compiled, facts(demo, now=NOW + timedelta(days=days))).engagement for days in (0, 7, 14, 91)]

    # then
    assert scores == [10, 5, 2.5, 0]


@pytest.mark.parametrize(
    ("rule", "events", "matched"),
    [
        (
            {
                "name": "Pricing",
                "points": 5,
                "event_type": "page",
                "when": {"field": "properties.path", "op": "contains", "value": "/pricing"},
            },
            [page("/pricing"), page("/blog"), event("Demo Requested", path="/pricing")],
            1,
        ),
        (
            {
                "name": "Assets",
                "points": 5,
                "event": "Asset Downloaded",
                "when": {"field": "properties.asset_type", "op": "in", "value": ["checklist"]},
            },
            [
                event("Asset Downloaded", asset_type="checklist"),
                event("Asset Downloaded", asset_type="ebook"),
                event("Asset Downloaded"),
            ],
            1,
        ),
        (
            {"name": "Either", "points": 5, "event": ["Webinar Registered", "Webinar Attended"]},
            [event("Webinar Registered"), event("Webinar Attended"), event("Form Submitted")],
            2,
        ),
    ],
)
def test_engagement_rules_match_event_names_types_and_property_conditions(rule, events, matched):
    # given
    compiled = version(engagement_rules=[rule])

    # when
    result = evaluate(compiled, facts(*events))

    # then
    assert result.hits[0].count == matched


@pytest.mark.parametrize(("scope", "count"), [("lead", 1), ("account", 2)])
def test_colleagues_events_count_only_for_account_scoped_rules(scope, count):
    # given
    compiled = version(engagement_rules=[engagement_rule(scope=scope)])
    own, colleague = event("Demo Requested"), event("Demo Requested", user="u2", account_level=True)

    # when
    result = evaluate(compiled, facts(own, colleague))

    # then
    assert result.hits[0].count == count


@pytest.mark.parametrize(
    ("negative", "fit", "engagement"),
    [
        (
            {"name": "Free mail", "points": -5, "when": {"field": "lead.email_type", "op": "eq", "value": "free"}},
            15,
            10,
        ),
        (
            {
                "name": "Free mail",
                "points": -5,
                "bucket": "engagement",
                "when": {"field": "lead.email_type", "op": "eq", "value": "free"},
            },
            20,
            5,
        ),
        (
            {
                "name": "Careers",
                "points": -3,
                "event_type": "page",
                "when": {"field": "properties.path", "op": "startswith", "value": "/careers"},
            },
            20,
            4,
        ),
        (
            {
                "name": "Careers",
                "points": -3,
                "bucket": "fit",
                "event_type": "page",
                "max_count": 1,
                "when": {"field": "properties.path", "op": "startswith", "value": "/careers"},
            },
            17,
            10,
        ),
    ],
)
def test_negative_rules_lower_the_score_they_belong_to(negative, fit, engagement):
    # given
    compiled = version(fit_rules=FIT_RULES[:1], engagement_rules=[engagement_rule()], negative_rules=[negative])
    events = [event("Demo Requested"), page("/careers/jobs"), page("/careers")]

    # when
    result = evaluate(compiled, facts(*events, lead={"seniority": "vp", "email_type": "free"}))

    # then
    assert (result.fit, result.engagement, result.total) == (fit, engagement, fit + engagement)


@pytest.mark.parametrize(
    ("seniority", "big", "demos", "is_mql", "why_not"),
    [
        ("vp", True, 1, True, None),
        ("ic", True, 3, False, "fit 15 < 20"),
        ("vp", False, 0, False, "engagement 0 < 10"),
        ("vp", False, 1, False, "total 30 < 40"),
        ("vp", True, 7, True, None),
    ],
)
def test_mql_needs_fit_engagement_and_total_each_at_their_minimum(seniority, big, demos, is_mql, why_not):
    # given
    compiled = version(fit_rules=FIT_RULES, engagement_rules=[engagement_rule()])
    events = [event("Demo Requested", days=day) for day in range(demos)]
    account = {"employee_count": 500 if big else 5}

    # when
    result = evaluate(compiled, facts(*events, lead={"seniority": seniority}, account=account))

    # then
    assert result.is_mql is is_mql, why_not
    assert result.stage == ("mql" if is_mql else None)


@pytest.mark.parametrize(("demos", "is_hot"), [(6, False), (7, True)])
def test_a_lead_is_hot_at_the_hot_threshold(demos, is_hot):
    # given
    compiled = version(fit_rules=FIT_RULES, engagement_rules=[engagement_rule()])
    events = [event("Demo Requested", days=day) for day in range(demos)]

    # when
    result = evaluate(compiled, facts(*events, lead={"seniority": "vp"}, account={"employee_count": 500}))

    # then
    assert result.is_hot is is_hot


ACTIVATION = path("activation", name="Activation", events=["Connect", "Run", "View"], within_days=7)


@pytest.mark.parametrize(
    ("activation", "steps", "is_pql"),
    [
        (ACTIVATION, [("Connect", 10), ("Run", 9), ("View", 4)], True),
        (ACTIVATION, [("View", 10), ("Run", 9), ("Connect", 4)], True),
        (ACTIVATION, [("Connect", 12), ("Run", 9), ("View", 4)], False),
        (ACTIVATION, [("Connect", 12), ("Run", 9), ("View", 4), ("Connect", 5)], True),
        (ACTIVATION, [("Connect", 3), ("Run", 2)], False),
        ({**ACTIVATION, "ordered": True}, [("View", 10), ("Run", 9), ("Connect", 4)], False),
        ({**ACTIVATION, "ordered": True}, [("Connect", 10), ("Run", 9), ("View", 8)], True),
        ({**ACTIVATION, "ordered": True}, [("Connect", 20), ("Run", 9), ("Connect", 8), ("View", 3)], False),
        ({**ACTIVATION, "ordered": True}, [("Connect", 20), ("Connect", 9), ("Run", 8), ("View", 3)], True),
        ({**ACTIVATION, "lookback_days": 30}, [("Connect", 40), ("Run", 39), ("View", 38)], False),
    ],
)
def test_an_activation_path_needs_every_step_within_the_span(activation, steps, is_pql):
    # given
    compiled = version(pql_paths=[activation])
    events = [event(name, days=days) for name, days in steps]

    # when
    result = evaluate(compiled, facts(*events))

    # then
    assert (result.pql_path == "Activation") is is_pql


def test_an_activation_path_records_the_steps_as_evidence():
    # given
    compiled = version(pql_paths=[ACTIVATION])
    connect, run, view = event("Connect", days=5), event("Run", days=4), event("View", days=2)

    # when
    result = evaluate(compiled, facts(view, connect, run))

    # then
    assert result.pql.evidence == {"event_ids": [connect.id, run.id, view.id], "span_days": 3}
    assert result.stage == "pql"


def team(count, *, days=1, name="Job Run"):
    return [event(name, days=days, user=f"user-{index}", account_level=index > 0) for index in range(count)]


@pytest.mark.parametrize(
    ("rule", "events", "is_pql"),
    [
        (path("usage_depth", min_active_users=5, within_days=7), team(5), True),
        (path("usage_depth", min_active_users=5, within_days=7), team(4), False),
        (path("usage_depth", min_active_users=5, within_days=7), team(5, days=8), False),
        (path("usage_depth", min_active_users=5, within_days=7, events=["Signed Up"]), team(5), False),
        (path("usage_depth", min_active_users=5, within_days=7, scope="lead"), team(5), False),
        (path("usage_depth", min_events=3, events=["Job Run"], within_days=30), team(3), True),
        (path("usage_depth", min_events=3, events=["Job Run"], within_days=30, scope="lead"), team(3), False),
        (
            path(
                "usage_depth",
                min_events=2,
                events=["Job Run"],
                within_days=30,
                when={"field": "properties.ok", "op": "eq", "value": True},
            ),
            [event("Job Run", ok=True), event("Job Run", ok=False), event("Job Run", ok=True)],
            True,
        ),
        (path("plan_limit", within_days=7), [event("Plan Limit Reached", days=2, user=None, account_level=True)], True),
        (path("plan_limit", within_days=7), [event("Plan Limit Reached", days=9)], False),
        (path("plan_limit", within_days=7, event="Quota Hit"), [event("Quota Hit")], True),
    ],
)
def test_usage_depth_and_plan_limit_paths(rule, events, is_pql):
    # given
    compiled = version(pql_paths=[rule])

    # when
    result = evaluate(compiled, facts(*events))

    # then
    assert (result.pql is not None) is is_pql


@pytest.mark.parametrize(
    ("history", "is_pql"),
    [
        ([(40, 2), (20, 3), (1, 6)], True),
        ([(40, 2), (1, 4)], False),
        ([(40, 2), (50, 1)], False),
        ([(60, 1), (40, 5)], False),
        ([(20, 10), (10, 3), (1, 6)], True),
        ([(10, 6), (5, 3)], False),
        ([(-5, 99)], False),
    ],
)
def test_a_seat_growth_path_compares_seats_within_the_window(history, is_pql):
    # given: the seats in force at the window's start count as its baseline
    compiled = version(pql_paths=[path("seat_growth", min_increase=3, within_days=30)])
    seats = tuple((days_ago(days), count) for days, count in history)

    # when
    result = evaluate(compiled, facts(account={}, seats=seats))

    # then
    assert (result.pql is not None) is is_pql


@pytest.mark.parametrize(
    ("segment", "fit_points", "is_pql"),
    [("smb", 20, True), ("enterprise", 20, False), (None, 20, False), ("smb", 5, False)],
)
def test_a_path_can_be_scoped_to_segments_and_a_minimum_fit(segment, fit_points, is_pql):
    # given
    compiled = version(
        fit_rules=[{"name": "Any", "points": fit_points, "when": {"field": "lead.x", "op": "exists", "value": False}}],
        pql_paths=[path("plan_limit", within_days=7, segments=["smb", "mid_market"], fit_min=10)],
    )
    account = {"segment": segment} if segment else {}

    # when
    result = evaluate(compiled, facts(event("Plan Limit Reached"), account=account))

    # then
    assert (result.pql is not None) is is_pql


def test_the_first_satisfied_path_is_named_and_all_are_kept_with_evidence():
    # given
    compiled = version(
        pql_paths=[
            ACTIVATION,
            path("plan_limit", name="Plan limit", within_days=7),
            path("usage_depth", name="Team", min_active_users=5, within_days=7),
        ]
    )

    # when
    result = evaluate(compiled, facts(*team(5), event("Plan Limit Reached", user="user-0")))

    # then
    assert result.pql_path == "Plan limit"
    assert [match.name for match in result.pql_matches] == ["Plan limit", "Team"]
    assert result.pql_matches[1].evidence["active_users"] == 5


def test_the_why_line_puts_product_signals_first_then_the_strongest_engagement():
    # given
    compiled = version(
        engagement_rules=[
            {
                "name": "Pricing",
                "label": "pricing page",
                "points": 10,
                "event_type": "page",
                "when": {"field": "properties.path", "op": "contains", "value": "/pricing"},
            },
            {"name": "Clicks", "label": "email clicks", "points": 1, "event": "Email Link Clicked"},
        ],
        pql_paths=[
            path("plan_limit", within_days=7),
            path("usage_depth", min_active_users=5, within_days=7, events=["Job Run", "Plan Limit Reached"]),
        ],
    )
    events = [
        *team(5),
        event("Plan Limit Reached", user="user-0"),
        page("/pricing"),
        page("/pricing"),
        event("Email Link Clicked"),
    ]

    # when
    result = evaluate(compiled, facts(*events))

    # then
    assert result.why == "Hit plan limit · 5 active users this week · pricing page twice · email clicks"


@pytest.mark.parametrize(
    ("events", "lead", "why"),
    [
        ((), {}, "No scoring activity yet"),
        ((), {"seniority": "vp"}, "Senior"),
        ((event("Demo Requested"),), {"email_type": "free"}, "Demo · free-mail address"),
    ],
)
def test_the_why_line_falls_back_sensibly(events, lead, why):
    # given
    compiled = version(
        fit_rules=FIT_RULES,
        engagement_rules=[engagement_rule(name="Demo")],
        negative_rules=[
            {
                "name": "Free",
                "label": "free-mail address",
                "points": -5,
                "when": {"field": "lead.email_type", "op": "eq", "value": "free"},
            }
        ],
    )

    # when
    result = evaluate(compiled, facts(*events, lead=lead))

    # then
    assert result.why == why


def test_the_result_is_json_ready_and_deterministic():
    # given
    compiled = version(
        fit_rules=FIT_RULES,
        engagement_rules=[engagement_rule(half_life_days=3)],
        pql_paths=[ACTIVATION, path("seat_growth", min_increase=1, within_days=30)],
    )
    scenario = facts(
        event("Demo Requested"),
        event("Connect"),
        event("Run"),
        event("View"),
        lead={"seniority": "vp"},
        account={"employee_count": 500},
        seats=((days_ago(3), 1), (days_ago(1), 2)),
    )

    # when
    first, second = evaluate(compiled, scenario), evaluate(compiled, scenario)

    # then
    assert json.loads(json.dumps(first.to_dict())) == second.to_dict()


def test_events_in_the_future_count_as_fresh_not_as_boosted():
    # given: clocks drift; a client timestamp slightly ahead of the server must not inflate points
    compiled = version(engagement_rules=[engagement_rule(half_life_days=1)])

    # when
    result = evaluate(compiled, facts(event("Demo Requested", days=-2)))

    # then
    assert result.engagement == 10


event_strategy = st.builds(
    EventFacts,
    id=st.integers(),
    type=st.sampled_from(["track", "page", "group"]),
    name=st.sampled_from(["Demo Requested", "Job Run", "Plan Limit Reached", "Connect", "Run", "View", None]),
    timestamp=st.integers(-100, 400).map(lambda hours: NOW - timedelta(hours=hours * 6)),
    properties=st.dictionaries(
        st.sampled_from(["path", "asset_type", "ok", "n"]),
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.text(max_size=5)
        | st.lists(st.integers(), max_size=2),
        max_size=3,
    ),
    user_key=st.sampled_from([None, "a", "b", "c"]),
    is_account_level=st.booleans(),
)


def rooted(condition, root):
    """The same condition with every field moved under `root` (lead., properties., ...)."""
    if "field" in condition:
        return {**condition, "field": f"{root}.{condition['field']}"}
    if "not" in condition:
        return {"not": rooted(condition["not"], root)}
    key = "all" if "all" in condition else "any"
    return {key: [rooted(child, root) for child in condition[key]]}


@given(
    valid_conditions,
    st.lists(event_strategy, max_size=25),
    st.dictionaries(st.sampled_from(["seniority", "title", "a"]), st.text(max_size=5) | st.integers() | st.none()),
)
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_no_valid_version_crashes_on_arbitrary_events(condition, events, lead):
    # given: one generated condition used on lead attributes and on event properties
    compiled = version(
        fit_rules=[{"name": "F", "points": 3, "when": rooted(condition, "lead")}],
        engagement_rules=[engagement_rule(when=rooted(condition, "properties"), half_life_days=2, max_count=3)],
        negative_rules=[{"name": "N", "points": -1, "event_type": "page", "when": rooted(condition, "context")}],
        pql_paths=[
            ACTIVATION,
            path("usage_depth", min_events=2, events=["Job Run"], within_days=7, when=rooted(condition, "properties")),
            path("usage_depth", name="users", min_active_users=2, within_days=7),
            path("plan_limit", within_days=7),
        ],
    )

    # when
    result = evaluate(compiled, facts(*events, lead=lead, account={"segment": "smb"}))

    # then
    json.dumps(result.to_dict())
