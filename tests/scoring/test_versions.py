"""Rule versions: drafts, atomic publishing, immutability in the model layer and the database."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from leads.models import Lead
from scoring.engine import default_rules
from scoring.models import LeadScore, PublishedVersionError, Rule, RuleKind, RuleVersion, VersionStatus
from scoring.selectors import rule_version_document, rule_version_live
from scoring.services import (
    rule_check,
    rule_version_clone,
    rule_version_create_from_document,
    rule_version_install_default,
    rule_version_publish,
)

pytestmark = pytest.mark.django_db


def _all_rules(document: dict) -> list[dict]:
    return [
        rule
        for section in ("fit_rules", "engagement_rules", "negative_rules", "pql_paths")
        for rule in document[section]
    ]


@pytest.fixture
def live(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return rule_version_install_default()


def _publish(version, django_capture_on_commit_callbacks, user=None):
    with django_capture_on_commit_callbacks(execute=True):
        return rule_version_publish(version_id=version.id, user=user)


def test_installing_the_default_rules_publishes_them_once(live):
    again = rule_version_install_default()

    assert again.id == live.id
    assert RuleVersion.objects.count() == 1
    assert live.status == VersionStatus.PUBLISHED


def test_the_stored_document_round_trips_the_default_rules(live):
    document = rule_version_document(live)
    defaults = default_rules()

    for section in ("fit_rules", "engagement_rules", "negative_rules", "pql_paths"):
        assert [rule["name"] for rule in document[section]] == [rule["name"] for rule in defaults[section]]
    assert document["thresholds"]["mql"] == defaults["thresholds"]["mql"]


def test_publishing_a_draft_archives_the_live_version_and_rescores_everyone(
    live, alice, django_capture_on_commit_callbacks
):
    # given leads scored by the live version and a cloned draft with a higher MQL bar
    Lead.objects.bulk_create([Lead(email=f"p{n}@acme.io") for n in range(3)])
    draft = rule_version_clone(version=live, user=alice)
    draft.total_min = 200
    draft.save()

    # when
    published = _publish(draft, django_capture_on_commit_callbacks, user=alice)

    # then
    live.refresh_from_db()
    assert live.status == VersionStatus.ARCHIVED and live.archived_at
    assert rule_version_live() == published
    published.refresh_from_db()
    assert published.published_by == alice
    assert published.rescore_total == 3 and published.rescore_done == 3 and published.rescore_finished_at
    assert set(LeadScore.objects.values_list("version_id", flat=True)) == {published.id}


def test_only_one_version_can_be_published_at_a_time_in_the_database(live):
    draft = rule_version_clone(version=live)

    with pytest.raises(IntegrityError), transaction.atomic():
        RuleVersion.objects.filter(id=draft.id).update(status=VersionStatus.PUBLISHED)


def test_a_published_version_refuses_edits_in_the_model_layer(live):
    live.total_min = 1
    with pytest.raises(PublishedVersionError):
        live.save()

    rule = live.rules.first()
    rule.points = 999
    with pytest.raises(PublishedVersionError):
        rule.save()
    with pytest.raises(PublishedVersionError):
        Rule(version=live, kind=RuleKind.FIT, name="Sneaky", points=5, definition={}).save()
    with pytest.raises(PublishedVersionError):
        rule.delete()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE scoring_rule SET points = 999 WHERE version_id = %(id)s",
        "DELETE FROM scoring_rule WHERE version_id = %(id)s",
        "UPDATE scoring_ruleversion SET total_min = 1 WHERE id = %(id)s",
        "UPDATE scoring_ruleversion SET status = 'draft' WHERE id = %(id)s",
        "DELETE FROM scoring_ruleversion WHERE id = %(id)s",
    ],
)
def test_a_published_version_refuses_edits_in_the_database(live, statement):
    # given someone bypassing the ORM entirely
    with pytest.raises(IntegrityError, match="cannot be"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, {"id": live.id})

    # then nothing changed
    live.refresh_from_db()
    assert live.status == VersionStatus.PUBLISHED and live.total_min == 75
    assert Rule.objects.filter(version=live).count() == len(_all_rules(default_rules()))
    assert live.rules.get(name="Target role").points == 25


def test_a_draft_can_be_edited_and_deleted(live):
    draft = rule_version_clone(version=live)
    rule = draft.rules.get(name="Target role")
    rule.points = 30
    rule.save()

    assert live.rules.get(name="Target role").points == 25
    draft.delete()
    assert not RuleVersion.objects.filter(id=draft.id).exists()


def test_publishing_an_invalid_draft_is_refused_with_the_reason(live, django_capture_on_commit_callbacks):
    draft = rule_version_clone(version=live)
    Rule.objects.create(
        version=draft, kind=RuleKind.ENGAGEMENT, name="Broken", points=5, definition={"event": "X", "max_count": -1}
    )

    with pytest.raises(ValidationError, match="Broken"):
        _publish(draft, django_capture_on_commit_callbacks)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT
    assert rule_version_live() == live


def test_publishing_a_version_twice_is_refused(live, django_capture_on_commit_callbacks):
    with pytest.raises(ValidationError, match="only drafts publish"):
        _publish(live, django_capture_on_commit_callbacks)


@pytest.mark.parametrize(
    ("kind", "definition", "message"),
    [
        (RuleKind.FIT, {"when": {"field": "lead.title", "op": "betwen", "value": 1}}, "betwen"),
        (RuleKind.ENGAGEMENT, {"event": "Form Submitted", "window_days": "soon"}, "window_days"),
        (RuleKind.FIT, ["not", "an", "object"], "JSON object"),
        (RuleKind.PQL, {"kind": "teleport"}, "teleport"),
    ],
)
def test_rule_check_names_the_problem_in_plain_words(kind, definition, message):
    with pytest.raises(ValidationError) as error:
        rule_check(kind=kind, name="My rule", points=5, description="", definition=definition)

    assert message in str(error.value)


def test_a_version_built_from_a_document_is_a_draft_with_its_rules():
    version = rule_version_create_from_document(name="Imported", document=default_rules())

    assert version.status == VersionStatus.DRAFT
    assert version.rules.count() == len(_all_rules(default_rules()))


def test_a_rule_naming_a_field_the_catalogue_lacks_is_refused_with_a_suggestion():
    # when
    with pytest.raises(ValidationError) as refused:
        rule_check(
            kind="fit",
            name="Shoes",
            points=5,
            description="",
            definition={"when": {"field": "lead.shoe_size", "op": "gt", "value": 40}},
        )

    # then
    assert refused.value.message_dict["definition"] == [
        "fit rule 'Shoes': condition: `lead.shoe_size` is not a field; did you mean `lead.source_kind`?"
    ]


def test_a_version_naming_a_field_the_catalogue_lacks_is_not_created():
    # given
    document = default_rules()
    document["fit_rules"].append({"name": "Shoes", "points": 5, "when": {"field": "lead.shoe_size", "op": "exists"}})

    # when
    with pytest.raises(ValidationError) as refused:
        rule_version_create_from_document(name="Shoes", document=document)

    # then
    assert "`lead.shoe_size` is not a field" in " ".join(refused.value.messages)
    assert not RuleVersion.objects.filter(name="Shoes").exists()
