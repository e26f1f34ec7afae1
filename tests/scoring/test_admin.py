"""The scoring admin: marketing ops write, check, preview and publish rule versions there."""

import json

import pytest
from django.urls import reverse

from leads.services.sources import source_create
from scoring.admin import DEFINITION_EXAMPLES, example_rule
from scoring.admin.common import rule_reads_as
from scoring.engine import validate_rule
from scoring.models import Rule, RuleKind, RuleVersion, ScoreChange, VersionStatus
from scoring.services import rule_version_clone, rule_version_install_default, rule_version_publish
from tests.scoring.pipeline import company, days_ago, lead_by_email, page, person, send, track

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def live(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return rule_version_install_default()


@pytest.fixture
def draft(live, olivia):
    return rule_version_clone(version=live, user=olivia, name="Pricing matters more")


@pytest.fixture
def buyer(live, django_capture_on_commit_callbacks):
    """A VP of Data at a fitting company who looked at pricing: scored by the live version."""
    source = source_create(name="Web", kind="marketing")[0]
    with django_capture_on_commit_callbacks(execute=True):
        send(
            source,
            [
                *person("u1", "ada@acme.io", title="VP Data", country="US"),
                company("u1", "acme", name="Acme", domain="acme.io", industry="Software", employees=250, country="US"),
                page("u1", "/pricing", at=days_ago(2)),
                track("u1", "Webinar Registered", at=days_ago(3)),
            ],
        )
    return lead_by_email("ada@acme.io")


@pytest.fixture(params=["olivia", "admin_user_qualify"])
def editor(request, client):
    """Marketing ops and admins: the people who edit and publish rules."""
    client.force_login(request.getfixturevalue(request.param))
    return client


@pytest.fixture
def olivia_client(client, olivia):
    client.force_login(olivia)
    return client


def _url(name: str, version: RuleVersion) -> str:
    return reverse(f"admin:scoring_ruleversion_{name}", args=[version.pk])


def _form_data(version: RuleVersion, *, new_rules: list[dict] = (), **fields) -> dict:
    """The change form as the browser posts it: the version's fields and every rule unchanged, plus new ones."""
    data = {
        "name": version.name,
        "notes": version.notes,
        **{
            key: getattr(version, key)
            for key in (
                "fit_min",
                "engagement_min",
                "total_min",
                "hot_min",
                "grade_a_min",
                "grade_b_min",
                "grade_c_min",
            )
        },
    }
    rules = list(version.rules.order_by("kind", "position", "id"))
    for index, rule in enumerate(rules):
        prefix = f"rules-{index}-"
        data.update(
            {
                prefix + "id": rule.pk,
                prefix + "version": version.pk,
                prefix + "kind": rule.kind,
                prefix + "name": rule.name,
                prefix + "description": rule.description,
                prefix + "points": rule.points,
                prefix + "position": rule.position,
                prefix + "definition": json.dumps(rule.definition),
            }
        )
    for offset, rule in enumerate(new_rules):
        prefix = f"rules-{len(rules) + offset}-"
        data.update({prefix + "version": version.pk, prefix + "position": 99, prefix + "description": ""})
        data.update({prefix + key: value for key, value in rule.items()})
    data.update(
        {
            "rules-TOTAL_FORMS": len(rules) + len(new_rules),
            "rules-INITIAL_FORMS": len(rules),
            "rules-MIN_NUM_FORMS": 0,
            "rules-MAX_NUM_FORMS": 1000,
        }
    )
    data.update(fields)
    return data


# --- pages render -----------------------------------------------------------------------------


def test_the_version_list_shows_status_rule_count_and_rescore_progress(editor, live, draft):
    # given
    RuleVersion.objects.filter(pk=live.pk).update(rescore_total=10000, rescore_done=4200, rescore_finished_at=None)

    # when
    response = editor.get(reverse("admin:scoring_ruleversion_changelist"))

    # then
    assert response.status_code == 200
    content = response.content.decode()
    assert "Published (live)" in content and "Draft" in content
    assert "4,200/10,000 (42%)" in content
    assert f">{live.rules.count()}<" in content


def test_the_version_list_filters_by_status(editor, live, draft):
    # when
    response = editor.get(reverse("admin:scoring_ruleversion_changelist") + "?status__exact=draft")

    # then
    assert [version.pk for version in response.context["cl"].result_list] == [draft.pk]


def test_a_draft_page_offers_editable_rules_with_their_plain_language_reading(editor, draft):
    # when
    response = editor.get(_url("change", draft))

    # then
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="rules-0-definition"' in content
    assert "Reads as" in content and "points when" in content
    assert _url("publish", draft) in content
    assert "Definition examples" in content


def test_a_published_version_page_is_read_only(editor, live):
    # when
    response = editor.get(_url("change", live))

    # then
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="rules-0-definition"' not in content
    assert 'name="_save"' not in content
    assert _url("publish", live) not in content
    assert _url("clone", live) in content
    assert "Rules of a published version cannot change" in content


def test_editing_a_published_versions_rule_through_the_admin_is_refused(olivia_client, live):
    # given
    rule = live.rules.order_by("kind", "position", "id").first()
    data = _form_data(live, **{"rules-0-points": rule.points + 50})

    # when
    response = olivia_client.post(_url("change", live), data)

    # then
    assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.points != data["rules-0-points"]


def test_saving_a_draft_stores_rule_changes(olivia_client, draft):
    # given
    rule = draft.rules.order_by("kind", "position", "id").first()

    # when
    response = olivia_client.post(_url("change", draft), _form_data(draft, **{"rules-0-points": 33}))

    # then
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.points == 33


@pytest.mark.parametrize(
    ("rule", "field", "words"),
    [
        (
            {
                "kind": "engagement",
                "name": "Docs",
                "points": 5,
                "definition": '{"event": "Docs Viewed", "window_days": 0}',
            },
            "definition",
            "'window_days' must be a number of days between 1 and",
        ),
        (
            {
                "kind": "fit",
                "name": "Boss",
                "points": 10,
                "definition": '{"when": {"field": "lead.title", "op": "like"}}',
            },
            "definition",
            "like",
        ),
        (
            {
                "kind": "fit",
                "name": "Shoes",
                "points": 10,
                "definition": '{"when": {"field": "lead.shoe_size", "op": "gt", "value": 40}}',
            },
            "definition",
            "`lead.shoe_size` is not a field; did you mean `lead.source_kind`?",
        ),
        (
            {
                "kind": "engagement",
                "name": "Pricing",
                "points": 10,
                "definition": '{"event_type": "page", "when": {"field": "event.nam", "op": "eq", "value": "Pricing"}}',
            },
            "definition",
            "`event.nam` is not a field; did you mean `event.name`",
        ),
        (
            {
                "kind": "fit",
                "name": "Big",
                "points": 10,
                "definition": '{"when": {"field": "account.employee_count", "op": "contains_any", "value": ["big"]}}',
            },
            "definition",
            "`account.employee_count` is a number; operator 'contains_any' does not apply",
        ),
        (
            {
                "kind": "negative",
                "name": "Gmail",
                "points": 10,
                "definition": '{"when": {"field": "lead.email_type", "op": "eq", "value": "free"}}',
            },
            "points",
            "a negative rule needs points below zero",
        ),
        (
            {"kind": "fit", "name": "Array", "points": 10, "definition": "[1, 2]"},
            "definition",
            "must be a JSON object",
        ),
    ],
)
def test_a_rule_that_does_not_validate_shows_the_problem_in_plain_words_on_its_field(
    olivia_client, draft, rule, field, words
):
    # given
    count = draft.rules.count()

    # when
    response = olivia_client.post(_url("change", draft), _form_data(draft, new_rules=[rule]))

    # then
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    errors = formset.forms[-1].errors
    assert any(words in message for message in errors[field]), errors
    assert draft.rules.count() == count


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"grade_a_min": 30, "grade_b_min": 40}, "grade_a_min"),
        ({"grade_b_min": 20, "grade_c_min": 20}, "grade_b_min"),
        ({"total_min": 80, "hot_min": 70}, "hot_min"),
    ],
)
def test_thresholds_that_contradict_each_other_are_refused(olivia_client, draft, fields, field):
    # when
    response = olivia_client.post(_url("change", draft), _form_data(draft, **fields))

    # then
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    draft.refresh_from_db()
    assert draft.grade_a_min == 60 and draft.hot_min == 130


def test_saving_a_draft_that_cannot_publish_warns_why(olivia_client, draft):
    # given: each rule is fine alone, but two share a name (case aside) across sections
    clash = {
        "kind": "fit",
        "name": "pricing page visit",
        "points": 5,
        "definition": '{"when": {"field": "lead.country", "op": "eq", "value": "US"}}',
    }

    # when
    response = olivia_client.post(_url("change", draft), _form_data(draft, new_rules=[clash]), follow=True)

    # then
    shown = [str(message) for message in response.context["messages"]]
    assert any("cannot be published yet" in message and "already used" in message for message in shown), shown


def test_a_new_version_can_be_added_with_its_first_rule(olivia_client, live):
    # given
    data = {
        "name": "From scratch",
        "notes": "",
        "fit_min": 10,
        "engagement_min": 10,
        "total_min": 30,
        "hot_min": 100,
        "grade_a_min": 60,
        "grade_b_min": 40,
        "grade_c_min": 20,
        "rules-TOTAL_FORMS": 1,
        "rules-INITIAL_FORMS": 0,
        "rules-0-kind": "fit",
        "rules-0-name": "US",
        "rules-0-points": 10,
        "rules-0-position": 0,
        "rules-0-definition": '{"when": {"field": "lead.country", "op": "eq", "value": "US"}}',
    }

    # when
    response = olivia_client.post(reverse("admin:scoring_ruleversion_add"), data)

    # then
    assert response.status_code == 302
    version = RuleVersion.objects.get(name="From scratch")
    assert version.status == VersionStatus.DRAFT and version.number == live.number + 1
    assert list(version.rules.values_list("name", flat=True)) == ["US"]


def test_every_definition_example_shown_in_the_admin_validates():
    # then
    for kind, definition in DEFINITION_EXAMPLES:
        assert validate_rule(kind, example_rule(kind, definition)) == [], (kind, definition)


# --- clone, publish, what changed ------------------------------------------------------------


def test_clone_makes_a_new_draft_and_opens_it(editor, live):
    # when
    response = editor.post(_url("clone", live))

    # then
    clone = RuleVersion.objects.get(based_on=live)
    assert response.status_code == 302 and response.url == _url("change", clone)
    assert clone.status == VersionStatus.DRAFT
    assert clone.rules.count() == live.rules.count()


def test_the_clone_action_clones_the_selected_version(olivia_client, live):
    # when
    response = olivia_client.post(
        reverse("admin:scoring_ruleversion_changelist"), {"action": "clone_versions", "_selected_action": [live.pk]}
    )

    # then
    clone = RuleVersion.objects.get(based_on=live)
    assert response.status_code == 302 and response.url == _url("change", clone)


def test_the_publish_confirmation_shows_the_changes_and_how_many_leads_rescore(editor, draft, buyer):
    # given
    draft.rules.filter(name="Pricing page visit").update(points=40)
    RuleVersion.objects.filter(pk=draft.pk).update(total_min=70)

    # when
    response = editor.get(_url("publish", draft))

    # then
    assert response.status_code == 200
    content = response.content.decode()
    assert "Changed MQL total minimum: 75 → 70" in content
    assert "Changed engagement rule &#x27;Pricing page visit&#x27;: points" in content
    assert "1 lead</strong> will be rescored" in content
    assert draft.number and f"Yes, publish v{draft.number}" in content


def test_publishing_through_the_admin_makes_the_draft_live_and_archives_the_old_one(
    olivia_client, olivia, live, draft, buyer, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = olivia_client.post(_url("publish", draft))

    # then
    assert response.status_code == 302
    draft.refresh_from_db()
    live.refresh_from_db()
    assert draft.status == VersionStatus.PUBLISHED and draft.published_by == olivia
    assert live.status == VersionStatus.ARCHIVED
    buyer.score.refresh_from_db()
    assert buyer.score.version_id == draft.pk
    assert draft.rescore_finished_at is not None


def test_publishing_a_draft_that_does_not_validate_shows_why_instead_of_failing(olivia_client, live, draft):
    # given: a rule written around the admin's validation
    Rule.objects.create(version=draft, kind=RuleKind.ENGAGEMENT, name="Broken", points=5, definition={"when": 1})

    # when
    confirmation = olivia_client.get(_url("publish", draft))
    response = olivia_client.post(_url("publish", draft), follow=True)

    # then
    assert "cannot be published until these problems are fixed" in confirmation.content.decode()
    assert "Yes, publish" not in confirmation.content.decode()
    assert response.status_code == 200
    assert any("Broken" in str(message) for message in response.context["messages"])
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT
    assert RuleVersion.objects.get(status=VersionStatus.PUBLISHED) == live


def test_a_published_version_cannot_be_published_again(olivia_client, live):
    # when
    response = olivia_client.post(_url("publish", live))

    # then
    assert response.status_code == 302
    live.refresh_from_db()
    assert live.status == VersionStatus.PUBLISHED


def test_what_changed_compares_with_the_version_it_was_based_on(editor, live, draft):
    # given
    draft.rules.filter(name="Pricing page visit").delete()

    # when
    response = editor.get(_url("changes", draft))

    # then
    assert response.status_code == 200
    assert response.context["against"] == live
    assert "Removed engagement rule &#x27;Pricing page visit&#x27;" in response.content.decode()


def test_what_changed_compares_with_any_chosen_version(editor, live, draft, olivia):
    # given
    other = rule_version_clone(version=live, user=olivia)
    RuleVersion.objects.filter(pk=other.pk).update(hot_min=150)

    # when
    response = editor.get(_url("changes", draft) + f"?against={other.pk}")

    # then
    assert response.context["against"].pk == other.pk
    assert "Changed hot threshold: 150 → 130" in response.content.decode()


# --- preview on a lead -----------------------------------------------------------------------


def test_preview_finds_leads_by_email(editor, draft, buyer):
    # when
    response = editor.get(_url("preview", draft) + "?q=acme")

    # then
    assert response.status_code == 200
    assert response.context["lead"] == buyer  # the only match is opened directly


def test_preview_shows_the_live_and_the_draft_score_side_by_side(editor, live, draft, buyer):
    # given
    draft.rules.filter(name="Pricing page visit").update(points=40)

    # when
    response = editor.get(_url("preview", draft) + f"?lead={buyer.pk}")

    # then
    assert response.status_code == 200
    live_column, draft_column = response.context["columns"]
    assert live_column["version"] == live and draft_column["version"] == draft
    assert live_column["result"].total == buyer.score.total
    assert draft_column["result"].total > live_column["result"].total
    fired = {hit["name"]: hit for hit in draft_column["hits"]}
    # the evidence reads as words, as on the score card, not as raw field names and event ids
    assert fired["Pricing page visit"]["evidence"].startswith("Once in the last 30 days, the latest")
    assert fired["Target role"]["evidence"] == "The lead's title is 'VP Data'."
    content = response.content.decode()
    assert f"Live: v{live.number}" in content and f"Draft: v{draft.number}" in content


def test_preview_of_the_live_version_shows_one_column(editor, live, buyer):
    # when
    response = editor.get(_url("preview", live) + f"?lead={buyer.pk}")

    # then
    assert [column["version"] for column in response.context["columns"]] == [live]


# --- scores -----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["leadscore", "scorechange"])
def test_score_records_are_listed_and_read_only(editor, buyer, model):
    # given
    key = buyer.pk if model == "leadscore" else ScoreChange.objects.filter(lead=buyer).first().pk

    # when
    listing = editor.get(reverse(f"admin:scoring_{model}_changelist"))
    detail = editor.get(reverse(f"admin:scoring_{model}_change", args=[key]))
    post = editor.post(reverse(f"admin:scoring_{model}_change", args=[key]), {})

    # then
    assert listing.status_code == 200 and "ada@acme.io" in listing.content.decode()
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert post.status_code == 403


def test_lead_scores_filter_by_grade_and_flag(editor, buyer):
    # when
    graded = editor.get(reverse("admin:scoring_leadscore_changelist") + f"?grade__exact={buyer.score.grade}")
    flagged = editor.get(
        reverse("admin:scoring_leadscore_changelist") + "?is_below_threshold_since_qualification__exact=1"
    )

    # then
    assert list(graded.context["cl"].result_list) == [buyer.score]
    assert list(flagged.context["cl"].result_list) == []


# --- who may do what -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "page",
    ["changelist", "change", "publish", "changes", "preview", "leadscore", "clone"],
)
def test_a_rep_cannot_use_the_scoring_admin(client, alice, draft, page):
    # given
    client.force_login(alice)
    urls = {
        "changelist": reverse("admin:scoring_ruleversion_changelist"),
        "leadscore": reverse("admin:scoring_leadscore_changelist"),
    }
    url = urls.get(page) or _url(page, draft)

    # when
    response = client.post(url) if page == "clone" else client.get(url)

    # then: reps are not staff, so the admin sends them to its login page
    assert response.status_code == 302 and reverse("admin:login") in response.url
    assert RuleVersion.objects.count() == 2


def test_a_staff_user_without_a_role_is_kept_out_of_the_scoring_admin(client, django_user_model, draft):
    # given
    client.force_login(django_user_model.objects.create_user(username="intern", password="x", is_staff=True))

    # when
    responses = [client.get(_url(name, draft)) for name in ("change", "changes", "preview", "publish")]

    # then: no Qualify role, no admin (qualify_site.admin_site), as in the API
    assert {(response.status_code, response.url.split("?")[0]) for response in responses} == {
        (302, reverse("admin:login"))
    }


@pytest.mark.parametrize("page", ["changelist", "change", "changes", "preview", "leadscore"])
def test_a_manager_can_look(client, charlie, draft, buyer, page):
    # given
    client.force_login(charlie)
    urls = {
        "changelist": reverse("admin:scoring_ruleversion_changelist"),
        "leadscore": reverse("admin:scoring_leadscore_changelist"),
    }

    # when
    response = client.get(urls.get(page) or _url(page, draft) + f"?lead={buyer.pk}")

    # then
    assert response.status_code == 200


def test_a_manager_sees_even_a_draft_read_only_without_clone_or_publish(client, charlie, draft):
    # given
    client.force_login(charlie)

    # when
    response = client.get(_url("change", draft))

    # then
    content = response.content.decode()
    assert 'name="rules-0-definition"' not in content and 'name="_save"' not in content
    assert _url("publish", draft) not in content and _url("clone", draft) not in content


def test_a_manager_cannot_edit_clone_or_publish(client, charlie, draft):
    # given
    client.force_login(charlie)

    # when
    responses = [
        client.post(_url("change", draft), _form_data(draft, name="Mine now")),
        client.post(_url("clone", draft)),
        client.get(_url("publish", draft)),
        client.post(_url("publish", draft)),
        client.get(reverse("admin:scoring_ruleversion_add")),
    ]

    # then
    assert [response.status_code for response in responses] == [403] * 5
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT and draft.name == "Pricing matters more"
    assert RuleVersion.objects.count() == 2


def test_a_version_published_elsewhere_while_the_form_was_open_is_not_changed(olivia_client, olivia, draft):
    # given: the page was loaded as a draft, then someone published it
    data = _form_data(draft, name="Too late")
    rule_version_publish(version_id=draft.pk, user=olivia)

    # when
    response = olivia_client.post(_url("change", draft), data)

    # then
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.name == "Pricing matters more"


def test_a_published_version_cannot_be_deleted_through_the_admin(olivia_client, live):
    # when
    page = olivia_client.get(reverse("admin:scoring_ruleversion_delete", args=[live.pk]))
    post = olivia_client.post(reverse("admin:scoring_ruleversion_delete", args=[live.pk]), {"post": "yes"})

    # then
    assert page.status_code == post.status_code == 403
    assert RuleVersion.objects.filter(pk=live.pk, status=VersionStatus.PUBLISHED).exists()


def test_a_draft_can_be_deleted_through_the_admin(olivia_client, draft):
    # when
    response = olivia_client.post(reverse("admin:scoring_ruleversion_delete", args=[draft.pk]), {"post": "yes"})

    # then
    assert response.status_code == 302
    assert not RuleVersion.objects.filter(pk=draft.pk).exists()


@pytest.mark.parametrize(("persona", "shown"), [("olivia", True), ("charlie", True), ("intern", False)])
def test_the_admin_index_lists_scoring_only_for_those_who_may_see_it(
    client, request, django_user_model, persona, shown
):
    # given
    if persona == "intern":
        user = django_user_model.objects.create_user(username="intern", password="x", is_staff=True)
    else:
        user = request.getfixturevalue(persona)
    client.force_login(user)

    # when
    response = client.get(reverse("admin:index"))

    # then
    assert (reverse("admin:scoring_ruleversion_changelist") in response.content.decode()) is shown


def test_a_rule_stored_before_the_catalogue_still_reads_in_words_and_says_it_would_not_save_today():
    # given: a rule naming a trait the way conditions did before the catalogue
    rule = {"name": "Interest", "points": 5, "when": {"field": "lead.plan_interest", "op": "eq", "value": "enterprise"}}

    # when
    text = rule_reads_as("fit", rule)

    # then
    assert text.startswith("+5 points when the lead's plan interest is 'enterprise'.")
    assert "Would not save today: fit rule 'Interest': condition: `lead.plan_interest` is not a field" in text
