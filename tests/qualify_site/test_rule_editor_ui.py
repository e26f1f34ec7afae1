"""Marketing ops build a rule's condition with the form, not JSON, in a real browser.

Headless Chromium as in test_content_security_policy.py (1280 x 800, and 1440 wide once). With
QUALIFY_SCREENSHOTS=DIR the editor, its errors, the JSON round trip and the preview are saved
there (rule-editor-*.png).
"""

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from leads.models import Event, Source
from scoring.models import Rule
from scoring.services import rule_version_clone, rule_version_install_default
from tests.qualify_site import test_content_security_policy as csp_test
from tests.qualify_site.test_content_security_policy import browser  # noqa: F401 - the fixture
from tests.qualify_site.test_ui import SERIOUS
from tests.routing.world import make_account, make_lead

pytestmark = csp_test.pytestmark

EVENT = "Security Review Requested"
RULE = "Asked for a security review"
# What the form below builds: the event, and either an enterprise plan or not (a partner or a free plan).
BUILT = {
    "all": [
        {"field": "event.name", "op": "eq", "value": EVENT},
        {
            "any": [
                {"field": "event.properties.plan", "op": "eq", "value": "enterprise"},
                {
                    "not": {
                        "any": [
                            {"field": "event.context.utm_source", "op": "eq", "value": "partner"},
                            {"field": "event.properties.plan", "op": "eq", "value": "free"},
                        ]
                    }
                },
            ]
        },
    ]
}


@pytest.fixture(autouse=True)
def _database_reads_beside_the_browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM reads are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def drafting(transactional_db, olivia):
    """A live version, a draft cloned from it, and Ada, who asked for a security review yesterday."""
    live = rule_version_install_default()
    draft = rule_version_clone(version=live, user=olivia)
    lead = make_lead(
        "ada@acme.io", title="VP Data", account=make_account("acme.io"), traits={"plan_interest": "enterprise"}
    )
    now = timezone.now()
    Event.objects.create(
        source=Source.objects.create(name="Web", kind="marketing"),
        message_id="m-1",
        type="track",
        event=EVENT,
        properties={"plan": "enterprise", "pages": 3},
        lead=lead,
        received_at=now - timedelta(days=1),
        timestamp=now - timedelta(days=1),
    )
    return {"draft": draft, "lead": lead}


def _screenshot(page, name: str, *, full_page: bool = False) -> None:
    if os.getenv("QUALIFY_SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["QUALIFY_SCREENSHOTS"]) / name), full_page=full_page)


def _serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    # The rules and their editor; the admin's own breadcrumbs are the admin theme's, not the editor's.
    results = Axe().run(page, context={"include": [["#rules-group"]]})
    return [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']][:5]}"
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]


def _new_rule(page, kind: str, name: str, points: str, position: str):
    page.locator(".add-row a").click()
    card = page.locator(".inline-related.dynamic-rules").last
    card.locator("select[name$='-kind']").select_option(kind)
    card.locator("input[name$='-name']").fill(name)
    card.locator("input[name$='-points']").fill(points)
    card.locator("input[name$='-position']").fill(position)
    return card


def _clause(clause, field: str, op: str, value: str, *, key: str = "") -> None:
    clause.locator("select.cb-field").first.select_option(field)
    if key:
        clause.locator("input.cb-key").first.fill(key)
    clause.locator("select.cb-op").first.select_option(op)
    clause.locator("input.cb-value").first.fill(value)


def _suggested(page, value_input) -> list[str]:
    """The values the browser offers for a value box: its datalist's options."""
    return page.evaluate(
        "input => Array.from(input.list ? input.list.options : []).map(option => option.value)",
        value_input.element_handle(),
    )


def test_marketing_ops_build_a_nested_engagement_rule_with_the_form_and_see_it_in_words(drafting, browser):  # noqa: F811
    # given
    draft = drafting["draft"]
    browser.sign_in("olivia", "pw-olivia")
    report = browser.visit(f"/admin/scoring/ruleversion/{draft.pk}/change/")
    page = browser.page
    page.locator("#rules-group").scroll_into_view_if_needed()
    _screenshot(page, "rule-editor-rules.png")

    # when: a new engagement rule; its first clause is a field from the picker and a suggested value
    card = _new_rule(page, "engagement", RULE, "15", "90")
    builder = card.locator(".condition-builder")
    builder.locator(".cb-add-clause").last.click()
    first = builder.locator(".cb-clause").first
    first.locator("select.cb-field").select_option("event.name")
    first.locator("select.cb-op").select_option("eq")
    assert EVENT in _suggested(page, first.locator("input.cb-value"))
    first.locator("input.cb-value").fill(EVENT)

    # then: it reads back in words as it is typed
    words = builder.locator(".cb-words")
    words.get_by_text(EVENT).wait_for()
    assert words.inner_text().startswith("Reads as")

    # when: a group "any of", holding a property seen in the data and, one level down, a "not any of"
    # group with a context key typed by hand and a second property clause
    builder.locator(":scope > .cb-actions .cb-add-group").click()
    group = builder.locator(".cb-rows > .cb-group").first
    group.locator(".cb-combine").first.select_option("any")
    plan = group.locator(".cb-clause").first
    plan.locator("select.cb-field").select_option("event.properties.plan")  # offered: seen on Ada's event
    plan.locator("select.cb-op").select_option("eq")
    assert "enterprise" in _suggested(page, plan.locator("input.cb-value"))
    plan.locator("input.cb-value").fill("enterprise")
    group.locator(":scope > .cb-actions .cb-add-group").click()
    inner = group.locator(".cb-group").first
    inner.locator(".cb-not").first.select_option("not")
    inner.locator(".cb-combine").first.select_option("any")
    _clause(inner.locator(".cb-clause").first, "event.context.*", "eq", "partner", key="utm_source")
    inner.locator(":scope > .cb-actions .cb-add-clause").click()
    _clause(inner.locator(".cb-clause").nth(1), "event.properties.plan", "eq", "free")

    # then: the words follow every level
    words.get_by_text("'free'").wait_for()
    assert "utm source is 'partner'" in words.inner_text()

    # when: a group three levels down is added, then removed with what it holds
    inner.locator(":scope > .cb-actions .cb-add-group").click()
    extra = inner.locator(".cb-group").first
    _clause(extra.locator(".cb-clause").first, "event.type", "eq", "page")
    words.get_by_text("'page'").wait_for()
    extra.locator(".cb-group-head .cb-remove").first.click()

    # then: the words (and below, the JSON) are as before it
    from playwright.sync_api import expect  # here: collecting must not need Playwright

    expect(words).not_to_contain_text("'page'")
    assert inner.locator(".cb-group").count() == 0
    card.locator(".field-condition").scroll_into_view_if_needed()
    _screenshot(page, "rule-editor.png")

    # when: the deepest clause names an account field, which an engagement rule cannot read
    deepest = inner.locator(".cb-clause").nth(1)
    deepest.locator("select.cb-field").select_option("account.industry")
    deepest.locator("input.cb-value").fill("Retail")

    # then: the error stands next to that clause, three levels down, and nowhere else
    deepest.locator(".cb-error").get_by_text("account fields cannot be used here").wait_for()
    assert [text for text in builder.locator(".cb-error").all_inner_texts() if text] == [
        deepest.locator(".cb-error").inner_text()
    ]
    assert "Fix the part marked in red" in words.inner_text()
    error_id = deepest.locator(".cb-error").get_attribute("id")
    assert deepest.locator("input.cb-value").get_attribute("aria-describedby") == error_id  # read with it
    _screenshot(page, "rule-editor-error.png")
    _clause(deepest, "event.properties.plan", "eq", "free")
    words.get_by_text("'free'").wait_for()

    # and: the JSON under "Advanced" was written by the form
    assert json.loads(card.locator("textarea.rule-definition").input_value())["when"] == BUILT
    width = page.evaluate("document.documentElement.scrollWidth")
    problems = report.problems() + _serious_violations(page)
    page.set_viewport_size({"width": 1440, "height": 900})
    card.locator(".field-condition").scroll_into_view_if_needed()
    _screenshot(page, "rule-editor-1440.png")

    # when: the draft is saved
    page.locator("input[name=_continue]").click()
    page.wait_for_load_state("networkidle")

    # then: the rule is stored as the form wrote it, and validated as before
    assert page.locator(".errornote, .errorlist").all_inner_texts() == []
    saved = Rule.objects.get(version=draft, name=RULE)
    assert saved.kind == "engagement"
    assert saved.definition["when"] == BUILT
    saved_card = page.locator(".inline-related", has=page.locator(f"input[value='{RULE}']"))
    saved_card.locator(".cb-words").get_by_text(EVENT).wait_for()  # read back again, from the stored JSON
    saved_card.scroll_into_view_if_needed()
    _screenshot(page, "rule-editor-saved.png")

    # when: the preview scores Ada with the draft
    browser.visit(f"/admin/scoring/ruleversion/{draft.pk}/preview/?q=ada@acme.io")

    # then: the new rule fired, reads as words, and so does its evidence
    column = page.locator(f"#preview-v{draft.number}")
    fired = column.locator("tr", has_text=RULE)
    assert EVENT in fired.locator(".reads-as").inner_text()
    assert fired.locator("td.evidence").inner_text().startswith("Once in the last")
    fired.scroll_into_view_if_needed()
    _screenshot(page, "rule-editor-preview.png")
    assert problems == [], "\n".join(problems)
    assert width <= 1280, f"the editor scrolls sideways at 1280px ({width}px)"


def test_the_advanced_json_and_the_form_follow_each_other_live(drafting, browser):  # noqa: F811
    # given: a fit rule on a trait key nobody has sent yet
    draft = drafting["draft"]
    when = {"any": [{"field": "lead.traits.budget_owner", "op": "eq", "value": True}]}
    Rule.objects.create(
        version=draft, kind="fit", name="Owns a budget", points=5, position=99, definition={"when": when}
    )
    browser.sign_in("olivia", "pw-olivia")
    browser.visit(f"/admin/scoring/ruleversion/{draft.pk}/change/")
    page = browser.page
    card = page.locator(".inline-related", has=page.locator("input[value='Owns a budget']"))
    clause = card.locator(".cb-clause").first
    assert clause.locator("select.cb-field").input_value() == "lead.traits.*"  # the family, with its key typed
    assert clause.locator("input.cb-key").input_value() == "budget_owner"
    card.locator("details.advanced-json summary").click()
    textarea = card.locator("textarea.rule-definition")

    # when: the JSON is broken by hand
    textarea.fill('{"when": {"all": [')

    # then: the error stands next to the JSON box, and the form keeps what it had
    card.locator(".aj-error").get_by_text("Not valid JSON").wait_for()
    assert card.locator(".cb-clause").count() == 1
    assert card.locator("input.cb-key").input_value() == "budget_owner"
    card.locator(".field-definition").scroll_into_view_if_needed()
    _screenshot(page, "rule-editor-json-invalid.png")

    # when: the JSON is valid again, two levels deep
    deep = {
        "all": [
            {"field": "lead.traits.plan_interest", "op": "eq", "value": "enterprise"},
            {"not": {"any": [{"field": "lead.country", "op": "in", "value": ["US", "CA"]}]}},
        ]
    }
    textarea.fill(json.dumps({"when": deep}))

    # then: the form is drawn again from it, with the words; the JSON error is gone
    words = card.locator(".cb-words")
    words.get_by_text("'US' or 'CA'").wait_for()
    assert card.locator(".aj-error").inner_text() == ""
    assert card.locator(".cb-clause").count() == 2
    assert card.locator(".cb-group .cb-value").input_value() == "US, CA"
    assert card.locator(".cb-clause select.cb-field").first.input_value() == "lead.traits.plan_interest"  # seen

    # when: the form is edited
    card.locator(".cb-group .cb-value").fill("US, CA, MX")

    # then: the JSON is written again by the form
    words.get_by_text("'MX'").wait_for()
    written = "t => JSON.parse(t.value).when.all[1].not.any[0].value.length === 3"
    page.wait_for_function(written, arg=textarea.element_handle())
    assert json.loads(textarea.input_value())["when"]["all"][1] == {
        "not": {"any": [{"field": "lead.country", "op": "in", "value": ["US", "CA", "MX"]}]}
    }
    card.locator(".field-condition").scroll_into_view_if_needed()
    _screenshot(page, "rule-editor-json.png")
    assert browser.report.problems() == []

    # when: saved
    page.locator("input[name=_continue]").click()
    page.wait_for_load_state("networkidle")

    # then
    assert page.locator(".errornote, .errorlist").all_inner_texts() == []
    stored = Rule.objects.get(version=draft, name="Owns a budget").definition["when"]
    assert stored["all"][1]["not"]["any"][0]["value"] == ["US", "CA", "MX"]


def test_a_condition_the_form_cannot_show_opens_as_json_with_a_note(drafting, browser):  # noqa: F811
    # given: a rule with a double "not", which the form has no way to draw
    draft = drafting["draft"]
    odd = {"not": {"not": {"field": "lead.title", "op": "eq", "value": "VP"}}}
    Rule.objects.create(version=draft, kind="fit", name="Odd", points=5, position=99, definition={"when": odd})
    browser.sign_in("olivia", "pw-olivia")

    # when
    browser.visit(f"/admin/scoring/ruleversion/{draft.pk}/change/")

    # then
    card = browser.page.locator(".inline-related", has=browser.page.locator("input[value=Odd]"))
    assert "the form cannot show" in card.locator(".cb-note").inner_text()
    assert card.locator("details.advanced-json").get_attribute("open") is not None


def test_a_published_version_shows_its_rules_as_read_only_cards_in_words(drafting, browser):  # noqa: F811
    # given
    live = drafting["draft"].based_on
    browser.sign_in("olivia", "pw-olivia")

    # when
    report = browser.visit(f"/admin/scoring/ruleversion/{live.pk}/change/")

    # then: no builder and no field to type in, each rule in words
    page = browser.page
    page.locator("#rules-group").scroll_into_view_if_needed()
    _screenshot(page, "rule-editor-published.png")
    assert page.locator("#rules-group .condition-builder").count() == 0
    assert page.locator("#rules-group textarea, #rules-group input[type=text]").count() == 0
    assert "points" in page.locator("#rules-group .field-reads_as").first.inner_text()
    assert report.problems() == []
