"""The rule editor at depth: groups in groups, each part's error beside it, keys of traits and
properties in the field picker, and the form drawn again from hand-edited JSON."""

import json
import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from leads.models import Account, Event, Lead, Source
from scoring.admin.condition_form import (
    builder_from_data,
    builder_to_condition,
    builder_to_data,
    condition_to_builder,
    field_choices,
)
from scoring.admin.forms import RuleForm
from scoring.selectors_suggestions import condition_suggestions
from tests.scoring.test_rule_editor import _as_query as _query

NAME = "rules-0-condition"
DEEP_LEAF = {"field": "lead.title", "op": "contains", "value": "intern"}
_SHOE = {"field": "lead.shoe_size", "op": "eq", "value": "42"}


def _clause(field: str, op: str, value: str, *, negate: bool = False) -> dict:
    return {"kind": "clause", "field": field, "op": op, "value": value, "negate": negate}


def _group(combine: str, *items, negate: bool = False) -> dict:
    return {"kind": "group", "combine": combine, "negate": negate, "items": list(items)}


# all of: the title, and any of (the country, and not all of (the seniority, and any of (shoe size)))
DEEP = _group(
    "all",
    _clause("lead.title", "contains", "Data"),
    _group(
        "any",
        _clause("lead.country", "eq", "DE"),
        _group(
            "all",
            _clause("lead.seniority", "eq", "vp"),
            _group("any", _clause("lead.shoe_size", "eq", "42")),
            negate=True,
        ),
    ),
)
# Rows in document order: 0 title, 1 group, 2 country, 3 not-group, 4 seniority, 5 group, 6 shoe size.
DEEPEST_CLAUSE = 6


def _error_slot(text: str, index: int) -> str:
    return text.split(f'id="{NAME}-error-{index}" hx-swap-oob="true">')[1].split("</p>")[0]


def test_groups_nest_to_any_depth_from_the_posted_form_to_json():
    # when: the form posts four levels of groups, each row naming its group by index
    posted = builder_from_data(_query(builder_to_data(DEEP, NAME)), NAME)

    # then
    assert posted == DEEP
    assert builder_to_condition(posted) == {
        "all": [
            {"field": "lead.title", "op": "contains", "value": "Data"},
            {
                "any": [
                    {"field": "lead.country", "op": "eq", "value": "DE"},
                    {
                        "not": {
                            "all": [
                                {"field": "lead.seniority", "op": "eq", "value": "vp"},
                                {"any": [{"field": "lead.shoe_size", "op": "eq", "value": "42"}]},
                            ]
                        }
                    },
                ]
            },
        ]
    }


def test_removing_a_middle_group_takes_what_it_holds_with_it():
    # given: the form without the "not all of" group (the browser removes its <li>, children and all)
    without = _group("all", DEEP["items"][0], _group("any", _clause("lead.country", "eq", "DE")))

    # when
    posted = builder_from_data(_query(builder_to_data(without, NAME)), NAME)

    # then
    assert builder_to_condition(posted) == {
        "all": [
            {"field": "lead.title", "op": "contains", "value": "Data"},
            {"any": [{"field": "lead.country", "op": "eq", "value": "DE"}]},
        ]
    }


def _words(client, builder: dict, *, kind: str = "fit"):
    data = {"name": [NAME], "rules-0-kind": [kind], "rules-0-definition": ["{}"], **builder_to_data(builder, NAME)}
    return client.get(reverse("admin:scoring_ruleversion_condition_words") + "?" + _query(data).urlencode())


def test_an_unknown_field_four_levels_down_is_named_beside_that_clause_only(client, olivia):
    client.force_login(olivia)

    # when
    text = _words(client, DEEP).content.decode()

    # then
    assert "is not a field" in _error_slot(text, DEEPEST_CLAUSE)
    assert all(_error_slot(text, index) == "" for index in range(DEEPEST_CLAUSE))
    assert "Fix the part marked in red" in text and "Reads as" not in text


def test_an_empty_group_is_named_beside_that_group(client, olivia):
    client.force_login(olivia)
    builder = _group("all", _clause("lead.country", "eq", "DE"), _group("any", _group("all")))

    # when
    text = _words(client, builder).content.decode()

    # then: the inner group (row 2) is empty; the outer one holds it, which is fine
    assert "this group is empty" in _error_slot(text, 2)
    assert _error_slot(text, 1) == "" and _error_slot(text, 0) == ""


def test_a_refused_save_shows_each_error_beside_its_part_on_the_page(db):
    # given: the form posted with a wrong clause three groups down
    data = _query(
        {
            "rules-0-kind": ["fit"],
            "rules-0-name": ["Deep"],
            "rules-0-points": ["5"],
            "rules-0-position": ["1"],
            "rules-0-description": [""],
            "rules-0-definition": ["{}"],
            "rules-0-condition-source": ["form"],
            **builder_to_data(DEEP, NAME),
        }
    )
    form = RuleForm(data=data, prefix="rules-0")

    # when
    assert not form.is_valid()
    html = form["condition"].as_widget()

    # then: the page itself (no script needed) puts the error next to that clause
    slots = dict(re.findall(rf'<p class="cb-error" id="{NAME}-error-(\d+)">([^<]*)</p>', html))
    assert "is not a field" in slots[str(DEEPEST_CLAUSE)]
    assert [index for index, message in slots.items() if message] == [str(DEEPEST_CLAUSE)]


def _event(source, index: int, *, days: int, properties: dict, context: dict | None = None):
    now = timezone.now()
    return Event.objects.create(
        source=source,
        message_id=f"k{index}",
        type="track",
        event="Job Run",
        properties=properties,
        context=context or {},
        received_at=now - timedelta(days=days),
        timestamp=now - timedelta(days=days),
    )


def test_the_field_picker_offers_the_trait_and_property_keys_seen_in_the_data(db):
    # given
    Lead.objects.create(email="ana@acme.io", traits={"plan_interest": "enterprise"})
    Account.objects.create(name="Acme", domain="acme.io", traits={"seats_wanted": 12})
    source = Source.objects.create(name="App", kind="product")
    _event(source, 1, days=3, properties={"connector": "postgres"}, context={"utm_source": "partner"})
    _event(source, 2, days=120, properties={"legacy_flag": True})

    # when
    suggestions = condition_suggestions()
    choices = dict(field_choices(suggestions.keys))

    # then: each family beside its parent group, with the keys seen (events: the last 90 days only)
    assert suggestions.keys["event.properties.*"] == ["connector"]
    assert suggestions.values["lead.traits.plan_interest"] == ["enterprise"]
    titles = [title for title, _ in field_choices(suggestions.keys)]
    assert titles.index("Lead traits") == titles.index("Lead") + 1
    assert ("lead.traits.plan_interest", "lead traits · plan_interest") in choices["Lead traits"]
    assert ("account.traits.seats_wanted", "account traits · seats_wanted") in choices["Account traits"]
    assert ("event.context.utm_source", "event context · utm_source") in choices["Event context"]
    assert choices["Event properties"][-1] == ("event.properties.*", "event properties · type a key…")


def test_a_key_not_seen_yet_is_typed_beside_its_family_and_saved_as_one_field(db):
    # given: "lead.traits.*" picked, and a key typed
    data = builder_to_data(_group("all", _clause("lead.traits.*", "eq", "yes")), NAME)
    data[f"{NAME}-key"] = ["budget_owner"]

    # when
    posted = builder_from_data(_query(data), NAME)

    # then
    assert builder_to_condition(posted) == {"field": "lead.traits.budget_owner", "op": "eq", "value": "yes"}


def test_a_family_picked_without_its_key_is_named_beside_the_clause(client, olivia):
    client.force_login(olivia)

    text = _words(client, _group("all", _clause("account.traits.*", "eq", "x"))).content.decode()

    assert "type the key" in _error_slot(text, 0)


def _builder(client, definition: str, *, kind: str = "fit"):
    query = _query({"name": [NAME], "rules-0-kind": [kind], "rules-0-definition": [definition]})
    return client.get(reverse("admin:scoring_ruleversion_condition_builder") + "?" + query.urlencode())


def test_hand_edited_json_draws_the_form_again_with_its_words(client, olivia):
    # given
    client.force_login(olivia)
    when = {"all": [{"field": "lead.country", "op": "eq", "value": "DE"}, {"not": {"any": [DEEP_LEAF]}}]}

    # when
    response = _builder(client, json.dumps({"when": when}))

    # then: the builder, marked as following the JSON, with both levels and the words
    html = response.content.decode()
    assert response.status_code == 200
    assert f'name="{NAME}-source" value="json"' in html
    shown = html.split("<template")[0]  # the templates for new rows come after
    assert shown.count('class="cb-row cb-group"') == 1 and shown.count('class="cb-row cb-clause"') == 2
    assert "Reads as: <strong>The lead&#x27;s country is &#x27;DE&#x27; and not (" in html


def test_json_that_is_not_an_object_is_refused_naming_the_definition(client, olivia):
    client.force_login(olivia)

    for definition in ('{"when": [', "[1, 2]"):
        response = _builder(client, definition)
        assert response.status_code == 400
        assert response.content.decode().startswith("definition:")


def test_json_the_form_cannot_show_draws_the_note_instead(client, olivia):
    client.force_login(olivia)

    response = _builder(client, json.dumps({"when": {"not": {"not": DEEP_LEAF}}}))

    assert response.status_code == 200
    assert "the form cannot show" in response.content.decode()


def test_the_builder_endpoint_is_refused_to_a_rep(client, alice):
    client.force_login(alice)

    assert _builder(client, "{}").status_code in (302, 403)


def test_a_stored_trait_condition_round_trips_through_the_page_form(db):
    # given: a trait key nobody has sent yet, stored in a rule
    condition = {"field": "lead.traits.budget_owner", "op": "eq", "value": True}
    builder = condition_to_builder(condition)

    # when: the page shows it (the family picked, the key typed) and posts it back
    html = _rendered({"when": condition})
    data = builder_to_data(builder, NAME)
    data[f"{NAME}-field"], data[f"{NAME}-key"] = ["lead.traits.*"], ["budget_owner"]

    # then
    assert '<option value="lead.traits.*" selected>' in html
    assert 'value="budget_owner"' in html
    assert builder_to_condition(builder_from_data(_query(data), NAME)) == condition


def _rendered(definition: dict) -> str:
    from scoring.models import Rule

    form = RuleForm(instance=Rule(pk=1, kind="fit", name="x", points=1, definition=definition), prefix="rules-0")
    return form["condition"].as_widget()


def test_a_stored_key_seen_in_the_data_is_picked_as_its_own_option_once(db):
    # given: the key has been seen, so the picker lists it
    RuleForm.condition_keys = {"lead.traits.*": ["plan_interest"]}
    try:
        html = _rendered({"when": {"field": "lead.traits.plan_interest", "op": "in", "value": ["a", "b"]}})
    finally:
        RuleForm.condition_keys = {}

    # then: one selected field, the family's operators, no key typed
    clause = html.split('class="cb-row cb-clause"')[1].split("</li>")[0]
    assert clause.count(" selected>") == 2  # the field and the operator
    assert '<option value="lead.traits.plan_interest" selected>lead traits · plan_interest</option>' in html
    assert '<option value="in" selected>is one of</option>' in html
    assert re.search(r'name="rules-0-condition-key" class="cb-key"[^>]* value=""', clause)


def test_a_refused_save_of_hand_edited_json_draws_the_form_from_that_json_with_its_errors(db):
    # given: the JSON was edited last (the form follows it), naming an unknown field two groups down
    when = {"all": [{"field": "lead.country", "op": "eq", "value": "DE"}, {"any": [{"not": DEEP_LEAF}, _SHOE]}]}
    data = _query(
        {
            "rules-0-kind": ["fit"],
            "rules-0-name": ["Deep"],
            "rules-0-points": ["5"],
            "rules-0-position": ["1"],
            "rules-0-description": [""],
            "rules-0-definition": [json.dumps({"when": when})],
            "rules-0-condition-source": ["json"],
        }
    )
    form = RuleForm(data=data, prefix="rules-0")

    # when
    assert not form.is_valid()
    html = form["condition"].as_widget()

    # then: the posted JSON's parts, the error beside the fourth row (country, group, title, shoe size)
    slots = dict(re.findall(rf'<p class="cb-error" id="{NAME}-error-(\d+)">([^<]*)</p>', html))
    assert "is not a field" in slots["3"]
    assert [index for index, message in slots.items() if message] == ["3"]
    assert f'name="{NAME}-source" value="json"' in html
