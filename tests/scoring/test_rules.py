import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.engine import (
    DEFAULT_RULES,
    RuleValidationError,
    compile_version,
    default_rules,
    validate_rule,
    validate_version,
)
from scoring.engine.rules import content_hash


def minimal_version(**sections):
    return {
        "schema": 1,
        "thresholds": {
            "mql": {"fit_min": 10, "engagement_min": 10, "total_min": 20},
            "grades": {"A": 3, "B": 2, "C": 1},
        },
        **sections,
    }


def test_the_default_version_is_valid_json_that_round_trips():
    # when
    document = json.loads(json.dumps(DEFAULT_RULES))

    # then
    assert validate_version(document) == []
    assert content_hash(document) == content_hash(DEFAULT_RULES)


@pytest.mark.parametrize(
    ("kind", "rule", "message"),
    [
        (
            "engagement",
            {
                "name": "Pricing page",
                "points": 5,
                "event_type": "page",
                "when": {"field": "properties.path", "op": "betwen", "value": 1},
            },
            "engagement rule 'Pricing page': condition: operator 'betwen' is not one of eq, ne, in",
        ),
        (
            "engagement",
            {
                "name": "Pricing page",
                "points": 5,
                "event_type": "page",
                "when": {
                    "all": [{"field": "type", "op": "eq", "value": "page"}, {"field": "path", "op": "eq", "value": 1}]
                },
            },
            "engagement rule 'Pricing page': condition 2: `path` is not a field; did you mean `event.properties.path`?",
        ),
        (
            "fit",
            {"name": "Title", "points": 5, "when": {"field": "title", "op": "exists"}},
            "fit rule 'Title': condition: `title` is not a field; did you mean `lead.title`?",
        ),
        ("fit", {"name": "Title", "points": 5}, "fit rule 'Title': missing 'when'"),
        ("fit", {"points": 5, "when": {"field": "lead.title", "op": "exists"}}, "fit rule 3: needs a 'name'"),
        (
            "fit",
            {"name": "T", "points": "5", "when": {"field": "lead.title", "op": "exists"}},
            "'points' must be a number",
        ),
        (
            "fit",
            {"name": "T", "points": 5, "when": {"field": "lead.title", "op": "exists"}, "pionts": 1},
            "unknown key 'pionts'",
        ),
        ("engagement", {"name": "Any", "points": 5}, "needs 'event' (an event name or list of names) or 'event_type'"),
        (
            "engagement",
            {"name": "E", "points": 5, "event": "X", "max_count": 0},
            "'max_count' must be a whole number of at least 1",
        ),
        (
            "engagement",
            {"name": "E", "points": 5, "event": "X", "window_days": -3},
            "'window_days' must be a number of days",
        ),
        (
            "engagement",
            {"name": "E", "points": 5, "event": "X", "half_life_days": 0},
            "'half_life_days' must be a number of days",
        ),
        ("engagement", {"name": "E", "points": 5, "event": ["X", "X"]}, "lists the same event twice"),
        (
            "engagement",
            {"name": "E", "points": 5, "event_type": "pageview"},
            "'event_type' 'pageview' is not one of track, page",
        ),
        (
            "engagement",
            {"name": "E", "points": 5, "event": "X", "scope": "team"},
            "'scope' must be 'lead' or 'account'",
        ),
        (
            "negative",
            {"name": "Unsub", "points": 20, "when": {"field": "lead.is_unsubscribed", "op": "eq", "value": True}},
            "needs points below zero",
        ),
        (
            "negative",
            {"name": "N", "points": -2, "when": {"field": "lead.x", "op": "exists"}, "bucket": "total"},
            "'bucket' must be 'fit' or 'engagement'",
        ),
        (
            "pql",
            {"name": "P", "kind": "activaton", "within_days": 3},
            "PQL path 'P': 'kind' 'activaton' is not one of activation, usage_depth",
        ),
        ("pql", {"name": "P", "kind": "activation", "within_days": 3}, "needs 'events', the steps to complete"),
        ("pql", {"name": "P", "kind": "activation", "events": ["A"]}, "missing 'within_days'"),
        (
            "pql",
            {"name": "P", "kind": "activation", "events": ["A"], "within_days": 30, "lookback_days": 7},
            "'lookback_days' (7) must be at least 'within_days' (30)",
        ),
        (
            "pql",
            {"name": "P", "kind": "usage_depth", "within_days": 7},
            "exactly one of 'min_active_users' or 'min_events'",
        ),
        ("pql", {"name": "P", "kind": "usage_depth", "within_days": 7, "min_events": 3}, "'min_events' needs 'events'"),
        ("pql", {"name": "P", "kind": "seat_growth", "within_days": 7}, "needs 'min_increase'"),
        (
            "pql",
            {"name": "P", "kind": "plan_limit", "within_days": 7, "segments": []},
            "'segments' must be a non-empty list",
        ),
        ("pql", {"name": "P", "kind": "plan_limit", "within_days": 7, "min_increase": 2}, "unknown key 'min_increase'"),
        ("pql", "plan limit", "PQL path 3: must be an object"),
    ],
)
def test_it_names_the_rule_and_the_problem(kind, rule, message):
    # when
    errors = validate_rule(kind, rule, index=3)

    # then
    assert any(message in error for error in errors), errors


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda doc: doc.pop("thresholds"), "thresholds: missing"),
        (lambda doc: doc["thresholds"]["mql"].pop("fit_min"), "thresholds: MQL 'fit_min' must be a number"),
        (lambda doc: doc["thresholds"].update(grades={"A": 1, "B": 2, "C": 3}), "A above B above C"),
        (lambda doc: doc["thresholds"].update(hot=5), "'hot' must be an object"),
        (lambda doc: doc.update(fit_rule=[]), "unknown section 'fit_rule'"),
        (lambda doc: doc.update(schema=2), "'schema' must be 1"),
        (lambda doc: doc.update(pql_paths={}), "'pql_paths' must be a list"),
        (
            lambda doc: doc["negative_rules"].append(copy.deepcopy(doc["fit_rules"][0])),
            "the name is already used by a fit rule",
        ),
    ],
)
def test_it_validates_the_whole_document(change, message):
    # given
    document = default_rules()
    change(document)

    # when
    errors = validate_version(document)

    # then
    assert any(message in error for error in errors), errors


def test_compiling_an_invalid_version_raises_with_every_error():
    # given
    document = minimal_version(fit_rules=[{"name": "A", "points": 1}, {"name": "B", "points": "x", "when": {}}])

    # when
    with pytest.raises(RuleValidationError) as raised:
        compile_version(document)

    # then
    assert len(raised.value.errors) == 3


def test_a_version_is_compiled_once_and_cached_by_id_and_content():
    # given
    document = default_rules()

    # when
    first = compile_version(document, version_id=7)
    again = compile_version(copy.deepcopy(document), version_id=7)
    document["thresholds"]["mql"]["fit_min"] = 41
    edited = compile_version(document, version_id=7)

    # then
    assert again is first
    assert edited is not first
    assert edited.thresholds.fit_min == 41


def test_the_compiled_version_does_not_change_when_the_callers_document_does():
    # given
    document = default_rules()
    compiled = compile_version(document, version_id="private-copy")

    # when
    document["fit_rules"].clear()

    # then
    assert len(compiled.document["fit_rules"]) == len(DEFAULT_RULES["fit_rules"])


def test_it_reports_how_far_back_events_are_needed():
    # given
    document = minimal_version(
        engagement_rules=[{"name": "E", "points": 1, "event": "X", "window_days": 45}],
        pql_paths=[{"name": "P", "kind": "activation", "events": ["A"], "within_days": 7, "lookback_days": 120}],
    )

    # when
    compiled = compile_version(document)

    # then
    assert compiled.max_window_days == 120


def test_the_content_hash_ignores_key_order():
    # given
    reordered = json.loads(json.dumps(DEFAULT_RULES, sort_keys=True))

    # then
    assert content_hash(reordered) == content_hash(DEFAULT_RULES)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)
rule_keys = st.sampled_from(
    [
        "name",
        "points",
        "when",
        "event",
        "event_type",
        "max_count",
        "window_days",
        "kind",
        "events",
        "within_days",
        "bucket",
    ]
)
rule_like = st.dictionaries(rule_keys, json_values, max_size=6)


@given(json_values)
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_no_json_input_crashes_the_version_validator(candidate):
    # when
    errors = validate_version(candidate)

    # then
    assert isinstance(errors, list)


@given(st.sampled_from(["fit", "engagement", "negative", "pql", "other"]), rule_like | json_values)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_no_json_input_crashes_the_rule_validator(kind, candidate):
    # when
    errors = validate_rule(kind, candidate)

    # then
    assert all(isinstance(error, str) for error in errors)


@given(
    st.sampled_from(["fit_rules", "engagement_rules", "negative_rules", "pql_paths", "thresholds"]),
    st.integers(0, 10),
    st.sampled_from(["name", "points", "when", "event", "max_count", "window_days", "events", "within_days", "mql"]),
    json_values,
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_mutating_the_default_version_never_crashes_the_validator(section, index, key, value):
    # given
    document = default_rules()
    target = document[section]
    if isinstance(target, list):
        target = target[index % len(target)]
    target[key] = value

    # when
    errors = validate_version(document)

    # then: and when it is still valid, it compiles
    if not errors:
        compile_version(document)
