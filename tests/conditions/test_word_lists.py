"""Word lists: "title contains any of VP, Head, Director, Chief", matched and shown as words."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conditions import compile_condition, describe_condition, explain_condition, validate_condition
from scoring.engine import default_rules, describe

SENIOR = {"field": "lead.title", "op": "contains_any", "value": ["VP", "Head", "Director", "Chief", "Vice President"]}


@pytest.mark.parametrize(
    ("title", "holds"),
    [
        ("VP Data", True),
        ("vp of engineering", True),  # any case
        ("Sales (VP)", True),  # punctuation is a boundary
        ("Head of Analytics", True),
        ("Chief Data Officer", True),
        ("Vice  President, Sales", True),  # any run of spaces between the parts
        ("MVP developer", False),  # inside a word is not the word
        ("Headhunter", False),
        ("Directorate assistant", False),
        ("Data Engineer", False),
        ("", False),
        (None, False),
        (42, False),
    ],
)
def test_contains_any_finds_whole_words_ignoring_case(title, holds):
    # given
    predicate = compile_condition(SENIOR)

    # then
    assert predicate({"lead": {"title": title}}) is holds


def test_contains_any_on_a_list_field_holds_when_an_item_has_one_of_the_words():
    # given
    predicate = compile_condition({"field": "lead.traits.tools", "op": "contains_any", "value": ["dbt", "Airflow"]})

    # then
    assert predicate({"lead": {"traits": {"tools": ["Looker", "apache airflow"]}}})
    assert not predicate({"lead": {"traits": {"tools": ["Looker", "dbtx"]}}})


def test_words_are_text_not_patterns():
    # given: characters that mean something in a regex are matched as themselves
    predicate = compile_condition({"field": "lead.title", "op": "contains_any", "value": ["C++", "a.b"]})

    # then
    assert predicate({"lead": {"title": "Senior C++ engineer"}})
    assert not predicate({"lead": {"title": "axb"}})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("VP", "needs a non-empty list of words, not text"),
        ([], "needs a non-empty list of words"),
        (["VP", "  "], "word 2 in the list must be non-empty text"),
        (["VP", 3], "word 2 in the list must be non-empty text, not a number"),
    ],
)
def test_a_word_list_must_be_a_list_of_words(value, message):
    # when
    errors = validate_condition({"field": "lead.title", "op": "contains_any", "value": value})

    # then
    assert len(errors) == 1 and message in errors[0]


def test_a_word_list_is_described_as_words():
    # then
    assert describe_condition(SENIOR) == "the lead's title contains any of VP, Head, Director, Chief, Vice President"


def test_an_old_word_list_regex_reads_as_words_and_other_regexes_stay_patterns():
    # given
    old = {"field": "lead.title", "op": "regex", "value": r"(?i)\b(student|intern)\b"}
    pattern = {"field": "lead.title", "op": "regex", "value": r"^(?i)data.*lead$"}

    # then
    assert describe_condition(old) == "the lead's title contains any of student, intern"
    assert describe_condition(pattern) == r"the lead's title matches the pattern ^(?i)data.*lead$"
    assert compile_condition(old)({"lead": {"title": "Marketing Intern"}})


def test_a_word_list_is_explained_with_the_actual_value():
    # when
    matched, reason = explain_condition(SENIOR, {"lead": {"title": "Data Engineer"}})

    # then
    assert not matched
    assert reason == "lead.title is 'Data Engineer', needs any of the words VP, Head, Director, Chief, Vice President"


def test_the_default_rules_read_as_sentences_without_regular_expressions():
    # when
    definitions = describe(default_rules())
    sentences = " ".join(rule["definition"] for rule in definitions["rules"])

    # then
    assert "(?i)" not in sentences and "\\b" not in sentences and "pattern" not in sentences
    assert "the lead's title contains any of VP, Vice President, Head, Director, Chief" in sentences
    assert "the account's industry contains any of Software, SaaS, Internet" in sentences
    assert "the lead is unsubscribed" in sentences
    assert "each page view where the event's path contains '/pricing'" in sentences


@given(
    words=st.lists(st.text(alphabet="abcXYZ", min_size=1, max_size=4), min_size=1, max_size=4),
    text=st.text(alphabet="abcXYZ _-.,()1", max_size=30),
)
def test_contains_any_agrees_with_splitting_the_text_into_words(words, text):
    # given: a word is a run of letters, digits or underscores; matching ignores case
    tokens = set(re.findall(r"\w+", text.lower()))
    predicate = compile_condition({"field": "lead.title", "op": "contains_any", "value": words})

    # then
    assert predicate({"lead": {"title": text}}) is any(word.lower() in tokens for word in words)
