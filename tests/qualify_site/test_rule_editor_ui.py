"""Marketing ops build a rule's condition with the form, not JSON, in a real browser.

Headless Chromium as in test_content_security_policy.py (1280 x 800). With QUALIFY_SCREENSHOTS=DIR
the editor and the preview are saved there (rule-editor-*.png).
"""

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


@pytest.fixture(autouse=True)
def _database_reads_beside_the_browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM reads are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def drafting(transactional_db, olivia):
    """A live version, a draft cloned from it, and Ada, who asked for a security review yesterday."""
    live = rule_version_install_default()
    draft = rule_version_clone(version=live, user=olivia)
    lead = make_lead("ada@acme.io", title="VP Data", account=make_account("acme.io"))
    now = timezone.now()
    Event.objects.create(
        source=Source.objects.create(name="Web", kind="marketing"),
        message_id="m-1",
        type="track",
        event=EVENT,
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


def test_marketing_ops_build_an_engagement_rule_with_the_form_and_see_it_in_words(drafting, browser):  # noqa: F811
    # given
    draft = drafting["draft"]
    browser.sign_in("olivia", "pw-olivia")
    report = browser.visit(f"/admin/scoring/ruleversion/{draft.pk}/change/")
    page = browser.page

    page.locator("#rules-group").scroll_into_view_if_needed()
    page.locator("tr.dynamic-rules").first.locator(".cb-words").get_by_text("Reads as").wait_for()
    page.wait_for_load_state("networkidle")
    _screenshot(page, "rule-editor-rules.png")

    # when: a new rule, built with the form
    page.locator(".add-row a").click()
    row = page.locator("tr.dynamic-rules").last
    row.locator("select[name$='-kind']").select_option("engagement")
    row.locator("input[name$='-name']").fill("Asked for a security review")
    row.locator("input[name$='-points']").fill("15")
    row.locator("input[name$='-position']").fill("90")
    row.locator(".cb-add-clause").click()
    row.locator("select.cb-field").select_option("event.name")
    row.locator("select.cb-op").select_option("eq")
    row.locator("input.cb-value").fill(EVENT)

    # then: it reads back in words as it is typed, and the JSON follows
    words = row.locator(".cb-words")
    words.get_by_text("Reads as").wait_for()
    assert EVENT in words.inner_text()
    row.scroll_into_view_if_needed()
    page.mouse.wheel(0, 120)
    _screenshot(page, "rule-editor.png")

    # when: a clause on an account field, which an engagement rule cannot read
    row.locator(".cb-add-clause").click()
    second = row.locator(".cb-clause").nth(1)
    second.locator("select.cb-field").select_option("account.employee_count")
    second.locator("select.cb-op").select_option("gte")
    second.locator("input.cb-value").fill("50")

    # then: the error stands next to that clause, the first one is fine
    second.locator(".cb-error").get_by_text("account fields cannot be used here").wait_for()
    assert row.locator(".cb-clause").first.locator(".cb-error").inner_text() == ""
    second.scroll_into_view_if_needed()
    page.mouse.wheel(0, 120)
    _screenshot(page, "rule-editor-error.png")
    second.locator(".cb-remove").click()
    words.get_by_text("Reads as").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    problems = report.problems() + _serious_violations(page)

    # when: the draft is saved
    page.locator("input[name=_continue]").click()
    page.wait_for_load_state("networkidle")

    # then: the rule is stored as the form wrote it, and validated as before
    _screenshot(page, "rule-editor-saved.png")
    errors = page.locator(".errornote, .errorlist").all_inner_texts()
    assert errors == []
    saved = Rule.objects.get(version=draft, name="Asked for a security review")
    assert saved.definition["when"] == {"field": "event.name", "op": "eq", "value": EVENT}
    assert saved.kind == "engagement"
    assert page.locator(".errornote").count() == 0

    # when: the preview scores Ada with the draft
    browser.visit(f"/admin/scoring/ruleversion/{draft.pk}/preview/?q=ada@acme.io")

    # then: the new rule fired and reads as words
    column = page.locator(f"#preview-v{draft.number}")
    fired = column.locator("tr", has_text="Asked for a security review")
    assert EVENT in fired.locator(".reads-as").inner_text()
    fired.scroll_into_view_if_needed()
    _screenshot(page, "rule-editor-preview.png")
    assert problems == [], "\n".join(problems)
    assert width <= 1280, f"the editor scrolls sideways at 1280px ({width}px)"


def test_a_condition_the_form_cannot_show_opens_as_json_with_a_note(drafting, browser):  # noqa: F811
    # given: a rule nested deeper than the form's one level of groups
    draft = drafting["draft"]
    deep = {"all": [{"any": [{"all": [{"field": "lead.title", "op": "eq", "value": "VP"}]}]}]}
    Rule.objects.create(version=draft, kind="fit", name="Deep", points=5, position=99, definition={"when": deep})
    browser.sign_in("olivia", "pw-olivia")

    # when
    browser.visit(f"/admin/scoring/ruleversion/{draft.pk}/change/")

    # then
    row = browser.page.locator("tr.dynamic-rules", has=browser.page.locator("input[value=Deep]"))
    assert "nested deeper than the form shows" in row.locator(".cb-note").inner_text()
    assert row.locator("details.advanced-json").get_attribute("open") is not None


def test_a_fit_rule_with_an_any_of_group_is_built_and_saved_as_json(drafting, browser):  # noqa: F811
    # given
    draft = drafting["draft"]
    browser.sign_in("olivia", "pw-olivia")
    browser.visit(f"/admin/scoring/ruleversion/{draft.pk}/change/")
    page = browser.page
    page.locator(".add-row a").click()
    row = page.locator("tr.dynamic-rules").last
    row.locator("select[name$='-kind']").select_option("fit")
    row.locator("input[name$='-name']").fill("German or Austrian software")
    row.locator("input[name$='-points']").fill("10")
    row.locator("input[name$='-position']").fill("95")

    # when: one clause, then a group "any of" two clauses
    row.locator(".cb-add-clause").click()
    first = row.locator(".cb-clause").first
    first.locator("select.cb-field").select_option("account.industry")
    first.locator("select.cb-op").select_option("contains_any")
    first.locator("input.cb-value").fill("Software, SaaS")
    row.locator(".cb-add-group").click()
    row.locator(".cb-group .cb-add-nested").click()
    nested = row.locator(".cb-nested")
    for index, country in enumerate(["DE", "AT"]):
        nested.nth(index).locator("select.cb-field").select_option("account.country")
        nested.nth(index).locator("select.cb-op").select_option("eq")
        nested.nth(index).locator("input.cb-value").fill(country)
    row.locator(".cb-words").get_by_text("'AT'").wait_for()
    row.locator(".cb-words").scroll_into_view_if_needed()
    page.mouse.wheel(0, 150)
    _screenshot(page, "rule-editor-group.png")
    page.locator("input[name=_continue]").click()
    page.wait_for_load_state("networkidle")

    # then
    saved = Rule.objects.get(version=draft, name="German or Austrian software")
    assert saved.definition == {
        "when": {
            "all": [
                {"field": "account.industry", "op": "contains_any", "value": ["Software", "SaaS"]},
                {
                    "any": [
                        {"field": "account.country", "op": "eq", "value": "DE"},
                        {"field": "account.country", "op": "eq", "value": "AT"},
                    ]
                },
            ]
        }
    }
