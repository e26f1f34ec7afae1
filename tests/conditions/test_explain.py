"""explain_condition: the decisive comparison of a condition, in words."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conditions.explain import explain_condition
from conditions.language import compile_condition

CONTEXT = {
    "lead": {"title": "VP Sales", "country": "GB", "source": "webinar", "tags": ["a"]},
    "account": {"employee_count": 40, "industry": "Software", "segment": None},
    "score": {"total": 72.5, "grade": "B", "is_hot": True},
}
SIZE = {"field": "account.employee_count", "op": "between", "value": [100, 999]}
UK = {"field": "lead.country", "op": "eq", "value": "GB"}
US = {"field": "lead.country", "op": "eq", "value": "US"}


@pytest.mark.parametrize(
    ("condition", "matched", "reason"),
    [
        (SIZE, False, "account.employee_count is 40, needs between 100 and 999"),
        (UK, True, "lead.country is 'GB'"),
        (US, False, "lead.country is 'GB', needs 'US'"),
        (
            {"field": "lead.country", "op": "ne", "value": "US"},
            True,
            "lead.country is 'GB', not 'US'",
        ),
        (
            {"field": "lead.country", "op": "in", "value": ["DE", "NL", "SE"]},
            False,
            "lead.country is 'GB', needs one of 'DE', 'NL' or 'SE'",
        ),
        (
            {"field": "lead.country", "op": "not_in", "value": ["DE"]},
            True,
            "lead.country is 'GB', none of 'DE'",
        ),
        ({"field": "lead.title", "op": "contains", "value": "VP"}, True, "lead.title is 'VP Sales', containing 'VP'"),
        (
            {"field": "lead.title", "op": "icontains", "value": "chief"},
            False,
            "lead.title is 'VP Sales', needs to contain 'chief' (any case)",
        ),
        (
            {"field": "lead.title", "op": "startswith", "value": "Head"},
            False,
            "lead.title is 'VP Sales', needs to start with 'Head'",
        ),
        (
            {"field": "lead.title", "op": "regex", "value": "^VP\\b"},
            True,
            "lead.title is 'VP Sales', matching the pattern ^VP\\b",
        ),
        ({"field": "score.total", "op": "gte", "value": 80}, False, "score.total is 72.5, needs at least 80"),
        ({"field": "score.total", "op": "gt", "value": 70}, True, "score.total is 72.5, more than 70"),
        ({"field": "score.is_hot", "op": "eq", "value": True}, True, "score.is_hot is true"),
        ({"field": "account.segment", "op": "exists"}, False, "account.segment is unknown, needs a value"),
        ({"field": "account.plan", "op": "exists", "value": False}, True, "account.plan is unknown"),
        ({"field": "lead.tags", "op": "contains", "value": "a"}, True, "lead.tags is ['a'], containing 'a'"),
        # all: the first comparison that failed
        ({"all": [UK, SIZE, US]}, False, "account.employee_count is 40, needs between 100 and 999"),
        (
            {"all": [UK, {"field": "score.grade", "op": "eq", "value": "B"}]},
            True,
            "lead.country is 'GB'; score.grade is 'B'",
        ),
        # any: the first that held, or every one when none did
        ({"any": [US, UK]}, True, "lead.country is 'GB'"),
        (
            {"any": [US, SIZE]},
            False,
            "lead.country is 'GB', needs 'US'; account.employee_count is 40, needs between 100 and 999",
        ),
        # not flips the wording beneath it
        ({"not": US}, True, "lead.country is 'GB', not 'US'"),
        ({"not": UK}, False, "lead.country is 'GB', needs anything but 'GB'"),
        ({"not": SIZE}, True, "account.employee_count is 40, not between 100 and 999"),
        (
            {"not": {"field": "lead.title", "op": "contains", "value": "VP"}},
            False,
            "lead.title is 'VP Sales', needs not to contain 'VP'",
        ),
        (
            {"not": {"any": [US, SIZE]}},
            True,
            "lead.country is 'GB', not 'US'; account.employee_count is 40, not between 100 and 999",
        ),
        ({"not": {"all": [UK, SIZE]}}, True, "account.employee_count is 40, not between 100 and 999"),
        ({"not": {"not": SIZE}}, False, "account.employee_count is 40, needs between 100 and 999"),
        (None, True, "no condition"),
        ({}, True, "no condition"),
    ],
)
def test_it_names_the_decisive_comparison(condition, matched, reason):
    # when
    outcome = explain_condition(condition, CONTEXT)

    # then
    assert outcome == (matched, reason)


LEAVES = st.sampled_from(
    [
        SIZE,
        UK,
        US,
        {"field": "score.total", "op": "gte", "value": 70},
        {"field": "account.segment", "op": "exists"},
        {"field": "lead.missing", "op": "ne", "value": 3},
        {"field": "lead.title", "op": "icontains", "value": "vp"},
    ]
)
CONDITIONS = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda items: {"all": items}),
        st.lists(children, min_size=1, max_size=3).map(lambda items: {"any": items}),
        children.map(lambda item: {"not": item}),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(condition=CONDITIONS)
def test_the_explanation_agrees_with_the_compiled_condition(condition):
    # when
    matched, reason = explain_condition(condition, CONTEXT)

    # then
    assert matched == compile_condition(condition)(CONTEXT)
    assert reason
