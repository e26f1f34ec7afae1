"""The rule editor's condition form: form -> JSON -> form round trips, the words endpoint, suggestions from data."""

from datetime import timedelta

import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from leads.models import Account, Event, Lead, Source
from scoring.admin.condition_form import (
    builder_from_data,
    builder_to_condition,
    builder_to_data,
    condition_to_builder,
)
from scoring.selectors_suggestions import condition_value_suggestions

NAME = "rules-0-condition"
DEPTH_FOUR = {"not": {"field": "lead.title", "op": "contains", "value": "intern"}}


def _as_query(data: dict[str, list[str]]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, values in data.items():
        query.setlist(key, values)
    return query


@pytest.mark.parametrize(
    "condition",
    [
        {"field": "lead.title", "op": "contains_any", "value": ["VP", "Head", "Director", "Chief"]},
        {"field": "account.employee_count", "op": "between", "value": [50, 5000]},
        {"field": "account.employee_count", "op": "gte", "value": 200},
        {
            "any": [
                {"field": "event.name", "op": "eq", "value": "Demo Requested"},
                {"field": "event.properties.path", "op": "contains", "value": "/pricing"},
            ]
        },
        {"not": {"field": "lead.email_type", "op": "in", "value": ["free", "student"]}},
        {
            "all": [
                {"field": "lead.country", "op": "eq", "value": "US"},
                {
                    "not": {
                        "any": [
                            {"field": "lead.is_unsubscribed", "op": "eq", "value": True},
                            {"field": "lead.email_type", "op": "eq", "value": "free"},
                        ]
                    }
                },
                {"any": [{"field": "account.seats", "op": "gt", "value": 5}, {"field": "lead.phone", "op": "exists"}]},
            ]
        },
        {
            "any": [
                {"field": "lead.country", "op": "eq", "value": "US"},
                {
                    "all": [
                        {"field": "lead.seniority", "op": "eq", "value": "vp"},
                        {
                            "not": {
                                "any": [
                                    {"field": "account.industry", "op": "eq", "value": "Retail"},
                                    {"all": [{"field": "account.seats", "op": "lt", "value": 3}, DEPTH_FOUR]},
                                ]
                            }
                        },
                    ]
                },
            ]
        },
        {
            "all": [
                {"field": "lead.traits.plan_interest", "op": "eq", "value": "enterprise"},
                {"field": "account.traits.seats_wanted", "op": "gte", "value": 10},
                {"field": "lead.traits.zip", "op": "eq", "value": "02139"},
                {"field": "lead.traits.code", "op": "eq", "value": "5"},
                {"field": "lead.traits.score", "op": "eq", "value": 5},
            ]
        },
    ],
    ids=[
        "word-list",
        "number-between",
        "number-comparison",
        "any-of-group",
        "not",
        "nested-group",
        "four-levels-deep",
        "traits-by-key",
    ],
)
def test_a_condition_round_trips_through_the_form(condition):
    # given
    builder = condition_to_builder(condition)

    # when: the form posts what it shows, and the server writes it back as JSON
    posted = builder_from_data(_as_query(builder_to_data(builder, NAME)), NAME)

    # then
    assert posted == builder
    assert builder_to_condition(posted) == condition


@pytest.mark.parametrize(
    "condition",
    [
        {"not": {"not": {"field": "lead.title", "op": "eq", "value": "VP"}}},
        {"all": [{"field": "lead.title", "op": "eq", "value": None}]},
        {"any": [{"all": [{"field": "lead.title", "op": "in", "value": ["Head, Data", "VP"]}]}]},
    ],
    ids=["double-not", "null-value", "comma-in-a-list-item"],
)
def test_a_condition_the_form_cannot_write_opens_in_advanced_mode(condition):
    assert condition_to_builder(condition) is None


@pytest.fixture
def draft_version(db):
    from scoring.services import rule_version_clone, rule_version_install_default

    return rule_version_clone(version=rule_version_install_default(), user=None)


def _words(client, clauses: list[tuple[str, str, str]], *, kind="fit", combine="all"):
    query = {"name": NAME, "rules-0-kind": kind, "rules-0-definition": "{}", f"{NAME}-top-combine": combine}
    builder = {"combine": combine, "negate": False, "items": []}
    for field, op, value in clauses:
        builder["items"].append({"kind": "clause", "field": field, "op": op, "value": value, "negate": False})
    data = {**{key: [value] for key, value in query.items()}, **builder_to_data(builder, NAME)}
    return client.get(reverse("admin:scoring_ruleversion_condition_words") + "?" + _as_query(data).urlencode())


def test_the_words_endpoint_reads_a_built_condition_back_in_words(client, olivia):
    client.force_login(olivia)

    response = _words(client, [("lead.title", "contains_any", "VP, Head"), ("account.employee_count", "gte", "50")])

    assert response.status_code == 200
    text = response.content.decode()
    assert "Reads as" in text
    assert "title contains any of VP, Head and the account&#x27;s employee count is at least 50" in text


def test_the_words_endpoint_puts_an_unknown_field_error_next_to_its_clause(client, olivia):
    client.force_login(olivia)

    response = _words(client, [("lead.title", "eq", "VP"), ("lead.shoe_size", "eq", "42")])

    text = response.content.decode()
    assert f'id="{NAME}-error-1" hx-swap-oob="true">' in text
    error_slot = text.split(f'id="{NAME}-error-1" hx-swap-oob="true">')[1].split("</p>")[0]
    assert "is not a field; did you mean" in error_slot
    assert text.split(f'id="{NAME}-error-0" hx-swap-oob="true">')[1].startswith("</p>")
    assert "Reads as" not in text


def test_the_words_endpoint_is_refused_to_a_rep(client, alice):
    client.force_login(alice)

    response = _words(client, [("lead.title", "eq", "VP")])

    assert response.status_code in (302, 403)


def test_value_suggestions_come_from_the_data(db):
    # given
    source = Source.objects.create(name="Web", kind="marketing")
    account = Account.objects.create(name="Acme", domain="acme.io", industry="Software", country="DE")
    Lead.objects.create(email="ana@acme.io", title="VP Data", country="US", account=account)
    now = timezone.now()
    for index, (name, days) in enumerate([("Demo Requested", 1), ("Demo Requested", 2), ("Old Thing", 120)]):
        Event.objects.create(
            source=source,
            message_id=f"m{index}",
            type="track",
            event=name,
            properties={"path": "/pricing"},
            received_at=now - timedelta(days=days),
            timestamp=now - timedelta(days=days),
        )

    # when
    suggestions = condition_value_suggestions(now=now)

    # then: only what was seen in the last 90 days
    assert suggestions["event.name"] == ["Demo Requested"]
    assert suggestions["event.properties.path"] == ["/pricing"]
    assert suggestions["account.industry"] == ["Software"]
    assert suggestions["lead.title"] == ["VP Data"]
    assert suggestions["lead.country"] == ["US"]


def _rule_form_data(definition: str, builder: dict | None) -> dict:
    from scoring.admin.forms import RuleForm

    prefix = "rules-0"
    data = {
        f"{prefix}-kind": "fit",
        f"{prefix}-name": "Leaders",
        f"{prefix}-points": "20",
        f"{prefix}-position": "1",
        f"{prefix}-description": "",
        f"{prefix}-definition": definition,
        f"{prefix}-condition-source": "unchanged",
    }
    query = _as_query({key: [value] for key, value in data.items()})
    if builder is not None:
        query.setlist(f"{prefix}-condition-source", ["form"])
        for key, values in builder_to_data(builder, f"{prefix}-condition").items():
            query.setlist(key, values)
    return RuleForm(data=query, prefix=prefix)


def test_saving_the_form_writes_its_condition_into_the_rule_json(db):
    # given: the builder says "title contains any of VP, Head"; the JSON still has an old condition
    condition = {"field": "lead.title", "op": "contains_any", "value": ["VP", "Head"]}
    form = _rule_form_data(
        '{"when": {"field": "lead.country", "op": "eq", "value": "US"}}', condition_to_builder(condition)
    )

    # then
    assert form.is_valid(), form.errors
    assert form.cleaned_data["definition"] == {"when": condition}


def test_saving_an_untouched_form_keeps_the_hand_written_json(db):
    form = _rule_form_data('{"when": {"field": "lead.country", "op": "eq", "value": "US"}}', None)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["definition"] == {"when": {"field": "lead.country", "op": "eq", "value": "US"}}


def test_a_form_naming_an_unknown_field_is_refused_by_the_service_as_before(db):
    builder = condition_to_builder({"field": "lead.shoe_size", "op": "eq", "value": "42"})
    form = _rule_form_data("{}", builder)

    assert not form.is_valid()
    assert "did you mean" in " ".join(form.errors["definition"])


def test_the_editor_offers_suggestions_from_data_and_the_form_only_on_drafts(client, olivia, draft_version):
    # given: an industry seen in the data
    Account.objects.create(name="Acme", domain="acme.io", industry="Biotech")
    client.force_login(olivia)
    live = draft_version.based_on

    # when
    draft_page = client.get(reverse("admin:scoring_ruleversion_change", args=[draft_version.pk])).content.decode()
    live_page = client.get(reverse("admin:scoring_ruleversion_change", args=[live.pk])).content.decode()

    # then
    assert '<datalist id="suggest-account.industry"><option value="Biotech">' in draft_page
    assert 'class="condition-builder' in draft_page
    assert 'class="condition-builder' not in live_page
