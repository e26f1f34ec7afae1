import pytest

from scoring.engine import DEFAULT_RULES, default_rules, describe, describe_condition, diff
from scoring.engine.describe import describe_hit, describe_path, describe_rule


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        ({"field": "properties.path", "op": "contains", "value": "/pricing"}, "the event's path contains '/pricing'"),
        (
            {"field": "lead.email_type", "op": "in", "value": ["free", "student"]},
            "the lead's email type is one of 'free' or 'student'",
        ),
        (
            {"field": "account.employee_count", "op": "between", "value": [50, 500]},
            "the account's employee count is between 50 and 500",
        ),
        ({"field": "lead.is_unsubscribed", "op": "eq", "value": True}, "the lead is unsubscribed"),
        ({"field": "lead.is_unsubscribed", "op": "ne", "value": True}, "the lead is not unsubscribed"),
        ({"field": "lead.phone", "op": "exists"}, "the lead's phone is known"),
        (
            {
                "all": [
                    {"field": "lead.country", "op": "eq", "value": "US"},
                    {
                        "any": [
                            {"field": "lead.title", "op": "icontains", "value": "vp"},
                            {"not": {"field": "lead.title", "op": "exists"}},
                        ]
                    },
                ]
            },
            "the lead's country is 'US' and "
            "(either the lead's title contains 'vp' (any case) or not (the lead's title is known))",
        ),
    ],
)
def test_it_describes_conditions_in_words(condition, text):
    # then
    assert describe_condition(condition) == text


@pytest.mark.parametrize(
    ("kind", "rule", "text"),
    [
        (
            "engagement",
            {
                "name": "P",
                "points": 15,
                "event_type": "page",
                "when": {"field": "properties.path", "op": "contains", "value": "/pricing"},
                "max_count": 3,
                "window_days": 30,
                "half_life_days": 14,
            },
            "+15 points for each page view where the event's path contains '/pricing', counted at most 3 times, "
            "in the last 30 days; an event's points halve every 14 days.",
        ),
        (
            "negative",
            {
                "name": "U",
                "points": -20,
                "bucket": "engagement",
                "when": {"field": "lead.is_unsubscribed", "op": "eq", "value": True},
            },
            "-20 points (to the engagement score) when the lead is unsubscribed.",
        ),
        (
            "engagement",
            {"name": "D", "points": 5, "event": ["A", "B"], "scope": "account", "max_points": 20},
            "+5 points for each 'A' or 'B' event, by anyone on the account, at most 20 points in all, "
            "in the last 90 days.",
        ),
    ],
)
def test_it_describes_rules_in_words(kind, rule, text):
    # then
    assert describe_rule(kind, rule) == text


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (
            {"kind": "activation", "events": ["Source Connected", "Job Run"], "within_days": 14, "ordered": True},
            "The lead completed 'Source Connected' and 'Job Run' (in that order), all within 14 days of each other, "
            "in the last 90 days.",
        ),
        (
            {"kind": "usage_depth", "min_active_users": 5, "within_days": 7, "segments": ["smb"]},
            "For accounts in the 'smb' segment: "
            "at least 5 different people on the account did anything in the last 7 days.",
        ),
        (
            {"kind": "usage_depth", "min_events": 20, "events": ["Job Run"], "within_days": 30, "fit_min": 40},
            "If the lead's fit score is at least 40: "
            "someone on the account did 'Job Run' at least 20 times in the last 30 days.",
        ),
        (
            {"kind": "seat_growth", "min_increase": 3, "within_days": 30},
            "The account added at least 3 seats within 30 days.",
        ),
        (
            {"kind": "plan_limit", "within_days": 1},
            "Someone on the account reached a plan limit ('Plan Limit Reached') in the last 1 day.",
        ),
    ],
)
def test_it_describes_each_pql_path_in_words(path, text):
    # then
    assert describe_path(path) == text


def test_the_stage_definitions_state_mql_and_every_pql_path():
    # when
    definitions = describe(DEFAULT_RULES)

    # then
    assert definitions["mql"] == (
        "A lead is a marketing-qualified lead (MQL) when its fit score is at least 40, its engagement score is "
        "at least 25 and the two add up to at least 75."
    )
    assert [path["name"] for path in definitions["pql_paths"]] == [
        "Activation",
        "Plan limit reached",
        "Team usage",
        "Seat growth",
    ]
    assert "PQL outranks MQL" in definitions["pql"]
    assert definitions["grades"] == "Fit grade A at 60 or more, B at 40, C at 20, D below that."
    assert len(definitions["rules"]) == sum(
        len(DEFAULT_RULES[key]) for key in ("fit_rules", "engagement_rules", "negative_rules")
    )


def test_a_version_without_paths_says_nobody_becomes_a_pql():
    # given
    document = default_rules()
    document["pql_paths"] = []
    del document["thresholds"]["hot"]

    # when
    definitions = describe(document)

    # then
    assert definitions["pql"] == "This version defines no PQL paths, so no lead becomes a PQL."
    assert definitions["hot"] == "This version has no hot threshold."


def test_the_diff_of_a_version_with_itself_is_empty():
    # then
    assert diff(DEFAULT_RULES, default_rules()) == []


def test_the_diff_lists_threshold_and_rule_changes_in_plain_words():
    # given
    before, after = default_rules(), default_rules()
    after["thresholds"]["mql"]["fit_min"] = 45
    del after["thresholds"]["hot"]
    pricing = next(rule for rule in after["engagement_rules"] if rule["name"] == "Pricing page visit")
    pricing["points"] = 20
    pricing["when"] = {"field": "properties.path", "op": "startswith", "value": "/pricing"}
    after["engagement_rules"].append({"name": "Case study", "points": 5, "event": "Asset Downloaded"})
    after["negative_rules"] = [rule for rule in after["negative_rules"] if rule["name"] != "Careers page visit"]
    after["pql_paths"].reverse()

    # when
    changes = diff(before, after)

    # then
    assert changes == [
        "Changed MQL fit minimum: 40 → 45",
        "Changed hot threshold: 130 → (none)",
        "Added engagement rule 'Case study' (+5 points)",
        "Changed engagement rule 'Pricing page visit': points 15 → 20; "
        "condition: the event's path contains '/pricing' → the event's path starts with '/pricing'",
        "Removed negative rule 'Careers page visit'",
        "Changed PQL path order: Activation, Plan limit reached, Team usage, Seat growth → "
        "Seat growth, Team usage, Plan limit reached, Activation",
    ]


@pytest.mark.parametrize(
    ("hit", "rule", "text"),
    [
        (
            {
                "kind": "fit",
                "points": 25,
                "count": 1,
                "evidence": {"values": {"lead.title": "VP Data", "lead.seniority": ""}},
            },
            None,
            "The lead's title is 'VP Data'.",
        ),
        (
            {"kind": "negative", "points": -20, "count": 1, "evidence": {"values": {"lead.is_unsubscribed": True}}},
            None,
            "The lead is unsubscribed.",
        ),
        (
            {
                "kind": "engagement",
                "points": 26.5,
                "count": 2,
                "evidence": {"event_ids": [1, 2], "matched": 2, "last_days_ago": 2.0, "decayed_from": 30},
            },
            {"window_days": 30},
            "Twice in the last 30 days, the latest 2 days before it was scored; worth 30 before older events faded.",
        ),
        (
            {"kind": "engagement", "points": 9, "count": 3, "evidence": {"matched": 5, "last_days_ago": 0.2}},
            None,
            "3 times in the last 90 days, the latest on the day it was scored (5 matched; the 3 most recent count).",
        ),
    ],
    ids=["attribute", "boolean-attribute", "decayed-events", "capped-events"],
)
def test_it_describes_why_a_rule_fired_in_words(hit, rule, text):
    assert describe_hit(hit, rule) == text
