"""The field catalogue: every field declared once, unknown names and unfit operators refused."""

import pytest

from conditions import ATTRIBUTE_FIELDS, CATALOGUE, EVENT_FIELDS, FIELDS, ROUTING_FIELDS, validate_condition
from conditions.catalogue import GROUPS, TYPE_OPERATORS, catalogue_for
from conditions.language import OPERATORS, condition_fields
from routing.engine import RoutingRule, validate_rule
from scoring.engine import DEFAULT_RULES, default_rules, validate_version
from scoring.engine import validate_rule as validate_scoring_rule


def _conditions(document: dict):
    """(catalogue, condition) for every condition of a rule version document."""
    for section in ("fit_rules", "engagement_rules", "negative_rules", "pql_paths"):
        for rule in document.get(section, []):
            if "when" not in rule:
                continue
            on_events = section in ("engagement_rules", "pql_paths") or "event" in rule or "event_type" in rule
            yield (EVENT_FIELDS if on_events else ATTRIBUTE_FIELDS), rule["when"]


def test_every_field_the_default_rules_name_is_in_the_catalogue():
    # when
    unknown = [
        field
        for catalogue, condition in _conditions(DEFAULT_RULES)
        for field in condition_fields(condition)
        if catalogue.field(field) is None
    ]

    # then
    assert unknown == []
    assert validate_version(default_rules()) == []


def test_every_field_the_routing_engine_and_territories_read_is_in_the_catalogue():
    # given: the territory matcher reads these facts directly (routing/engine/territory.py)
    read_by_territories = ["lead.country", "lead.region", "account.country", "account.region", "account.industry"]
    read_by_territories += ["account.employee_count"]

    # then
    assert [field for field in read_by_territories if ROUTING_FIELDS.field(field) is None] == []


def test_each_field_is_declared_once_with_a_type_description_words_examples_and_a_source():
    # then
    names = [field.name for field in FIELDS]
    assert len(names) == len(set(names))
    for field in FIELDS:
        assert field.group in GROUPS, field.name
        assert field.type in TYPE_OPERATORS, field.name
        assert field.description.endswith("."), field.name
        assert field.words and field.computed_from, field.name
        assert field.examples, field.name
        assert set(field.operators) <= set(OPERATORS), field.name


def test_a_form_can_list_the_fields_grouped_with_types_operators_and_examples():
    # when
    listing = CATALOGUE.to_dict()

    # then
    assert list(listing) == ["lead", "account", "event", "score"]
    title = next(field for field in listing["lead"]["fields"] if field["name"] == "lead.title")
    assert title["type"] == "text" and "contains_any" in title["operators"] and title["examples"]
    employees = next(field for field in listing["account"]["fields"] if field["name"] == "account.employee_count")
    assert employees["type"] == "number" and "between" in employees["operators"]
    assert "contains" not in employees["operators"]


@pytest.mark.parametrize(
    ("catalogue", "field", "message"),
    [
        (ATTRIBUTE_FIELDS, "lead.titel", "`lead.titel` is not a field; did you mean `lead.title`?"),
        (ATTRIBUTE_FIELDS, "lead.email_domian", "did you mean `lead.email_domain`"),
        (ROUTING_FIELDS, "score.totl", "`score.totl` is not a field; did you mean `score.total`?"),
        (EVENT_FIELDS, "path", "`path` is not a field; did you mean `event.properties.path`?"),
        (ATTRIBUTE_FIELDS, "lead.zzqq", "did you mean the trait `lead.traits.zzqq`?"),
        (ATTRIBUTE_FIELDS, "score.total", "score fields cannot be used here; fields here start with lead, account"),
        (EVENT_FIELDS, "lead.title", "lead fields cannot be used here; fields here start with event"),
    ],
)
def test_an_unknown_field_is_refused_with_the_closest_known_names(catalogue, field, message):
    # when
    errors = validate_condition({"field": field, "op": "eq", "value": "x"}, fields=catalogue)

    # then
    assert len(errors) == 1
    assert message in errors[0]


def test_the_shoe_size_is_not_a_field():
    # when
    errors = validate_condition({"field": "lead.shoe_size", "op": "eq", "value": 44}, fields=ATTRIBUTE_FIELDS)

    # then
    assert errors == ["condition: `lead.shoe_size` is not a field; did you mean `lead.source_kind`?"]


@pytest.mark.parametrize(
    ("field", "op", "value", "message"),
    [
        ("lead.is_unsubscribed", "gt", 1, "`lead.is_unsubscribed` is true/false; operator 'gt' does not apply"),
        ("account.employee_count", "contains_any", ["big"], "is a number; operator 'contains_any' does not apply"),
        ("lead.title", "between", [1, 2], "`lead.title` is text; operator 'between' does not apply"),
    ],
)
def test_an_operator_the_fields_type_does_not_support_is_refused(field, op, value, message):
    # when
    errors = validate_condition({"field": field, "op": op, "value": value}, fields=ATTRIBUTE_FIELDS)

    # then
    assert len(errors) == 1 and message in errors[0]


@pytest.mark.parametrize(
    ("catalogue", "field"),
    [
        (ATTRIBUTE_FIELDS, "lead.traits.plan_interest"),
        (ATTRIBUTE_FIELDS, "account.traits.funding_stage"),
        (EVENT_FIELDS, "event.properties.anything_sent"),
        (EVENT_FIELDS, "properties.path"),  # conditions stored before the event. prefix
        (EVENT_FIELDS, "properties.anything_sent"),
        (EVENT_FIELDS, "context.campaign.name"),
        (EVENT_FIELDS, "name"),
        (ROUTING_FIELDS, "lead.email_domain"),
        (ROUTING_FIELDS, "lead.source_kind"),
        (ROUTING_FIELDS, "account.has_owner"),
    ],
)
def test_declared_fields_families_and_old_spellings_are_accepted(catalogue, field):
    # then
    assert validate_condition({"field": field, "op": "exists"}, fields=catalogue) == []


def test_a_scoring_rule_naming_an_unknown_field_is_refused_but_a_stored_one_still_compiles():
    # given
    rule = {"name": "Shoes", "points": 5, "when": {"field": "lead.shoe_size", "op": "gt", "value": 40}}
    document = default_rules()
    document["fit_rules"].append(rule)

    # when
    errors = validate_scoring_rule("fit", rule)

    # then
    assert errors == ["fit rule 'Shoes': condition: `lead.shoe_size` is not a field; did you mean `lead.source_kind`?"]
    assert validate_version(document, known_fields=False) == []  # what compiling a stored version checks


def test_a_routing_rule_naming_an_unknown_field_is_refused_with_a_suggestion():
    # given
    rule = RoutingRule(
        id=1, name="Domains", position=1, queue_id=1, condition={"field": "lead.emial_domain", "op": "eq", "value": "x"}
    )

    # when
    errors = validate_rule(rule)

    # then
    assert len(errors) == 1
    assert errors[0].startswith("rule 'Domains': condition: `lead.emial_domain` is not a field; did you mean")
    assert "`lead.email_domain`" in errors[0]
    assert validate_rule(rule, known_fields=False) == []


def test_catalogue_for_refuses_an_unknown_group():
    with pytest.raises(ValueError, match="unknown field group"):
        catalogue_for("lead", "weather")
