import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conditions.language import (
    OPERATORS,
    REGEX_SUBJECT_LIMIT,
    check_regex,
    compile_condition,
    condition_fields,
    validate_condition,
)

PAGE = {"name": None, "type": "page", "properties": {"path": "/pricing/enterprise", "tags": ["a", "B"], "n": 5}}
LEAD = {"lead": {"title": "VP Data", "employee_count": 250, "is_unsubscribed": False, "nothing": None}}


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"field": "properties.path", "op": "contains", "value": "/pricing"}, PAGE, True),
        ({"field": "properties.path", "op": "contains", "value": "/careers"}, PAGE, False),
        ({"field": "properties.path", "op": "icontains", "value": "/PRICING"}, PAGE, True),
        ({"field": "properties.path", "op": "startswith", "value": "/pricing"}, PAGE, True),
        ({"field": "properties.path", "op": "startswith", "value": "pricing"}, PAGE, False),
        ({"field": "properties.path", "op": "regex", "value": r"^/pricing(/|$)"}, PAGE, True),
        ({"field": "properties.tags", "op": "contains", "value": "a"}, PAGE, True),
        ({"field": "properties.tags", "op": "icontains", "value": "b"}, PAGE, True),
        ({"field": "type", "op": "eq", "value": "page"}, PAGE, True),
        ({"field": "type", "op": "ne", "value": "page"}, PAGE, False),
        ({"field": "type", "op": "in", "value": ["track", "page"]}, PAGE, True),
        ({"field": "type", "op": "not_in", "value": ["track", "page"]}, PAGE, False),
        ({"field": "properties.n", "op": "gt", "value": 4}, PAGE, True),
        ({"field": "properties.n", "op": "gte", "value": 5}, PAGE, True),
        ({"field": "properties.n", "op": "lt", "value": 5}, PAGE, False),
        ({"field": "properties.n", "op": "lte", "value": 5.0}, PAGE, True),
        ({"field": "properties.n", "op": "eq", "value": 5.0}, PAGE, True),
        ({"field": "properties.n", "op": "between", "value": [1, 5]}, PAGE, True),
        ({"field": "properties.n", "op": "between", "value": [6, 9]}, PAGE, False),
        ({"field": "properties.path", "op": "exists"}, PAGE, True),
        ({"field": "properties.missing", "op": "exists", "value": True}, PAGE, False),
        ({"field": "properties.missing", "op": "exists", "value": False}, PAGE, True),
        ({"field": "lead.nothing", "op": "exists", "value": True}, LEAD, False),
        ({"field": "lead.employee_count", "op": "between", "value": [50, 10000]}, LEAD, True),
        ({"field": "lead.is_unsubscribed", "op": "eq", "value": False}, LEAD, True),
        # true is not 1 and false is not 0 in the condition language
        ({"field": "lead.is_unsubscribed", "op": "eq", "value": 0}, LEAD, False),
        ({"field": "lead.is_unsubscribed", "op": "in", "value": [0]}, LEAD, False),
        # a missing field: comparisons are false, their negations true
        ({"field": "lead.country", "op": "eq", "value": "US"}, LEAD, False),
        ({"field": "lead.country", "op": "ne", "value": "US"}, LEAD, True),
        ({"field": "lead.country", "op": "not_in", "value": ["US"]}, LEAD, True),
        # path through a non-dict
        ({"field": "lead.title.first", "op": "eq", "value": "V"}, LEAD, False),
    ],
)
def test_it_evaluates_each_operator(condition, context, expected):
    # given
    assert validate_condition(condition) == []
    predicate = compile_condition(condition)

    # when
    result = predicate(context)

    # then
    assert result is expected


@pytest.mark.parametrize(
    ("op", "value"),
    [("gt", 3), ("gte", 3), ("lt", 3), ("lte", 3), ("between", [0, 9]), ("startswith", "V"), ("regex", "V")],
)
@pytest.mark.parametrize("actual", ["VP", 7, None, True, ["V"], {"a": 1}, float("nan")])
def test_it_treats_a_type_mismatch_as_false_instead_of_raising(op, value, actual):
    # given
    predicate = compile_condition({"field": "x", "op": op, "value": value})
    numeric_match = op in ("gt", "gte", "lt", "lte", "between") and type(actual) is int
    text_match = op in ("startswith", "regex") and actual == "VP"

    # when
    result = predicate({"x": actual})

    # then
    assert result is (numeric_match and (op in ("gt", "gte", "between")) or text_match)


@pytest.mark.parametrize(
    ("combination", "expected"),
    [
        ({"all": [{"field": "a", "op": "eq", "value": 1}, {"field": "b", "op": "eq", "value": 2}]}, True),
        ({"all": [{"field": "a", "op": "eq", "value": 1}, {"field": "b", "op": "eq", "value": 3}]}, False),
        ({"any": [{"field": "a", "op": "eq", "value": 9}, {"field": "b", "op": "eq", "value": 2}]}, True),
        ({"any": [{"field": "a", "op": "eq", "value": 9}, {"field": "b", "op": "eq", "value": 9}]}, False),
        ({"not": {"field": "a", "op": "eq", "value": 1}}, False),
        ({"not": {"any": [{"field": "a", "op": "eq", "value": 9}]}}, True),
    ],
)
def test_it_combines_conditions_with_all_any_and_not(combination, expected):
    # given
    predicate = compile_condition(combination)

    # when
    result = predicate({"a": 1, "b": 2})

    # then
    assert result is expected


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            {"field": "properties.n", "op": "betwen", "value": [1, 2]},
            "condition: operator 'betwen' is not one of eq, ne, in, not_in, contains, icontains, contains_any",
        ),
        (
            {"all": [{"field": "a", "op": "eq", "value": 1}, {"field": "a", "op": "betwen", "value": 1}]},
            "condition 2: operator 'betwen' is not one of",
        ),
        ({"any": [{"all": [{"field": "a", "op": "gt", "value": "x"}]}]}, "condition 1.1: operator 'gt' needs a number"),
        ({"field": "a", "op": "between", "value": [5, 1]}, "needs low <= high"),
        ({"field": "a", "op": "between", "value": 5}, "needs a list of two numbers"),
        ({"field": "a", "op": "in", "value": "US"}, "operator 'in' needs a list of values, not text"),
        ({"field": "a", "op": "in", "value": [{"x": 1}]}, "value 1 in the list must be text"),
        ({"field": "a", "op": "eq"}, "operator 'eq' needs a 'value'"),
        ({"field": "a", "op": "eq", "value": [1]}, "operator 'eq' compares with text"),
        ({"field": "a", "op": "exists", "value": "yes"}, "operator 'exists' takes true or false"),
        ({"field": "a", "op": "contains", "value": ""}, "needs non-empty text"),
        ({"field": "a", "op": "gt", "value": float("inf")}, "needs a number, not a number that is not finite"),
        ({"field": "", "op": "eq", "value": 1}, "'field' must be a dotted path"),
        ({"field": "a..b", "op": "eq", "value": 1}, "has an empty or invalid part"),
        ({"op": "eq", "value": 1}, "missing 'field'"),
        ({"field": "a", "op": "eq", "value": 1, "vaule": 2}, "unknown key 'vaule'"),
        ({"all": []}, "'all' needs a non-empty list of conditions"),
        ({"all": [{"field": "a", "op": "eq", "value": 1}], "any": []}, "'all' must be the only key"),
        ("properties.path contains /pricing", "must be an object"),
        ({"field": "a", "op": "regex", "value": "(a+)+$"}, "repeats a group that itself contains a repeat"),
    ],
)
def test_it_explains_an_invalid_condition_in_plain_words(condition, message):
    # when
    errors = validate_condition(condition)

    # then
    assert len(errors) == 1
    assert message in errors[0]


def test_it_prefixes_errors_with_the_location_it_is_given():
    # when
    errors = validate_condition({"field": "a", "op": "betwen", "value": 1}, where="rule 'Pricing page': condition")

    # then
    assert errors[0].startswith("rule 'Pricing page': condition: operator 'betwen' is not one of eq, ne, ")


def test_it_restricts_fields_to_the_allowed_roots():
    # when
    errors = validate_condition({"field": "titel", "op": "eq", "value": "x"}, roots=("lead", "account"))

    # then
    assert errors == ["condition: field 'titel' must start with one of lead, account"]


def test_it_rejects_conditions_nested_too_deeply():
    # given
    condition = {"field": "a", "op": "exists"}
    for _ in range(20):
        condition = {"not": condition}

    # when
    errors = validate_condition(condition)

    # then
    assert errors and "nested more than" in errors[0]


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("(a+)+b", "contains another repeat"),
        ("(a*)*b", "contains another repeat"),
        ("(a|aa)+b", "contains alternatives"),
        (r"(a)\1", "backreference"),
        ("(?=a)a", "lookahead"),
        ("a*b*c*d", "more than 2 open-ended repeats"),
        ("x" * 201, "limit is 200"),
        ("(unclosed", "does not compile"),
    ],
)
def test_it_rejects_regexes_that_can_backtrack_catastrophically(pattern, problem):
    # when
    reason = check_regex(pattern)

    # then
    assert reason is not None
    assert problem.replace("contains another repeat", "itself contains a repeat") in reason


@pytest.mark.parametrize(
    "pattern",
    [r"(?i)\b(vp|head|director)\b", r"^/pricing(/|$)", r"\w+\s\w+x", r".*a.*b", r"[a-z]{2,5}\d{1,3}", r"a+a+x"],
)
def test_it_matches_allowed_regexes_quickly_even_on_hostile_input(pattern):
    # given
    assert check_regex(pattern) is None
    predicate = compile_condition({"field": "s", "op": "regex", "value": pattern})
    hostile = {"s": "a" * 100_000}

    # when
    started = time.perf_counter()
    predicate(hostile)
    elapsed = time.perf_counter() - started

    # then: only the first REGEX_SUBJECT_LIMIT characters are searched
    assert REGEX_SUBJECT_LIMIT == 256
    assert elapsed < 0.05


def test_it_lists_the_fields_a_condition_reads():
    # given
    condition = {
        "any": [
            {"field": "lead.title", "op": "exists"},
            {"not": {"field": "account.industry", "op": "eq", "value": "x"}},
            {"field": "lead.title", "op": "eq", "value": "y"},
        ]
    }

    # then
    assert condition_fields(condition) == ["lead.title", "account.industry"]


# --- properties ---------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
field_names = st.sampled_from(["a", "b", "a.b", "a.b.c", "properties.path", "lead.title", "x-y", "", "a..b", 3])
operators = st.sampled_from([*OPERATORS, "betwen", None])
comparisons = st.fixed_dictionaries(
    {"field": field_names, "op": operators},
    optional={"value": json_values | st.sampled_from(["(a+)+", ".*", "^x", "[", r"\d+"]) | st.lists(json_scalars)},
)
conditions = st.recursive(
    comparisons,
    lambda children: (
        st.fixed_dictionaries({"all": st.lists(children, max_size=3)})
        | st.fixed_dictionaries({"any": st.lists(children, max_size=3)})
        | st.fixed_dictionaries({"not": children})
    ),
    max_leaves=8,
)
valid_fields = st.sampled_from(["a", "b", "a.b", "a.b.c", "properties.path", "lead.title"])
texts = st.text(min_size=1, max_size=10)
numbers = st.integers(-100, 100) | st.floats(-1e6, 1e6, allow_nan=False)
valid_values = {
    # Valid values only: the validator rejects NaN and infinities, as JSON has neither.
    "eq": json_scalars.filter(lambda value: not isinstance(value, float) or math.isfinite(value)),
    "ne": json_scalars.filter(lambda value: not isinstance(value, float) or math.isfinite(value)),
    "in": st.lists(st.none() | st.booleans() | numbers | texts, max_size=4),
    "not_in": st.lists(st.none() | st.booleans() | numbers | texts, max_size=4),
    "contains": texts | numbers,
    "icontains": texts,
    "contains_any": st.lists(texts.filter(str.strip), min_size=1, max_size=4),
    "startswith": texts,
    "regex": st.sampled_from([r"\d+", "^a", "(?i)vp|head", "b$", r"\w+\s\w+"]),
    "gt": numbers,
    "gte": numbers,
    "lt": numbers,
    "lte": numbers,
    "between": st.tuples(numbers, numbers).map(lambda pair: sorted(pair)),
    "exists": st.booleans(),
}
valid_comparisons = st.sampled_from(OPERATORS).flatmap(
    lambda op: st.fixed_dictionaries({"field": valid_fields, "op": st.just(op), "value": valid_values[op]})
)
valid_conditions = st.recursive(
    valid_comparisons,
    lambda children: (
        st.fixed_dictionaries({"all": st.lists(children, min_size=1, max_size=3)})
        | st.fixed_dictionaries({"any": st.lists(children, min_size=1, max_size=3)})
        | st.fixed_dictionaries({"not": children})
    ),
    max_leaves=8,
)
facts = st.dictionaries(st.sampled_from(["a", "b", "properties", "lead", "x-y"]), json_values, max_size=5)


@given(json_values)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_no_json_input_crashes_the_validator(candidate):
    # when
    errors = validate_condition(candidate)

    # then
    assert isinstance(errors, list)
    assert all(isinstance(error, str) for error in errors)


@given(conditions | valid_conditions, st.lists(facts, max_size=5))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_validated_conditions_never_crash_the_evaluator(condition, contexts):
    # given
    if validate_condition(condition):
        return
    predicate = compile_condition(condition)

    # when / then: always a plain boolean, whatever the facts look like
    for context in [*contexts, None, [], "text", {"a": {"b": {"c": float("nan")}}}]:
        assert predicate(context) in (True, False)


@given(valid_conditions)
@settings(max_examples=200)
def test_the_valid_strategy_really_produces_valid_conditions(condition):
    # then: keeps the evaluator property above honest (most of its inputs get evaluated)
    assert validate_condition(condition) == []
