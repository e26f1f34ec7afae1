"""The conversion page in a real browser: a manager opens it from the top navigation, switches
the dimension (htmx swaps the results in place, the address follows), and the charts draw under
the strict CSP with nothing fetched from outside; axe-core finds no serious or critical violation.

Headless Chromium at 1280 x 800. With QUALIFY_SCREENSHOTS=DIR the page is saved there
(conversion*.png, full page).
"""

import os
from pathlib import Path

import pytest

from tests.insights.conversion_history import build_history
from tests.qualify_site import test_content_security_policy as csp_test
from tests.qualify_site.test_content_security_policy import browser  # noqa: F401 - the fixture
from tests.qualify_site.test_ui import _serious_violations

pytestmark = csp_test.pytestmark

Q1 = "start=2026-01-01&end=2026-03-31"
DRAWN = """() => [...document.querySelectorAll("canvas[data-chart]")].map(
    (canvas) => canvas.dataset.drawn === "true" && window.Chart.getChart(canvas) !== undefined && canvas.width > 0)"""


@pytest.fixture
def funnel_history(transactional_db, django_user_model, charlie):
    return build_history(django_user_model)


def _screenshot(page, name: str) -> None:
    if os.getenv("QUALIFY_SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["QUALIFY_SCREENSHOTS"]) / name), full_page=True)


def _first_column(page) -> list[str]:
    return [text.strip() for text in page.locator("table.conversion-table tbody th[scope=row]").all_inner_texts()]


def test_a_manager_opens_conversion_and_switches_the_dimension_with_the_charts_drawn(funnel_history, browser):  # noqa: F811
    # given
    browser.sign_in("charlie", "pw-charlie")
    page = browser.page
    page.get_by_role("link", name="Conversion").click()
    page.wait_for_load_state("networkidle")
    assert page.url == browser.base_url + "/insights/"
    problems = browser.visit(f"/insights/?{Q1}").problems() + _serious_violations(page)
    assert _first_column(page) == ["Paid search", "Webinars", "No source"]
    assert page.evaluate(DRAWN) == [True, True]
    _screenshot(page, "conversion.png")

    # when: by campaign, picked from the list (htmx, on change)
    page.get_by_label("Group by").focus()
    page.get_by_label("Group by").select_option("campaign")
    page.locator("table.conversion-table thead th").first.filter(has_text="Campaign").wait_for()

    # then: the new groups, both charts drawn again, the address says what is shown
    assert _first_column(page) == ["Brand ads", "Spring webinar", "No campaign"]
    page.wait_for_function(
        """() => [...document.querySelectorAll("canvas[data-chart]")].every((c) => c.dataset.drawn === "true")"""
    )
    assert page.evaluate(DRAWN) == [True, True]
    assert "by=campaign" in page.url
    assert page.get_by_label("Group by").evaluate("(select) => select === document.activeElement")
    problems += browser.report.problems() + page.evaluate("window.__cspViolations") + _serious_violations(page)
    page.locator(".conversion-chart summary").first.click()
    page.locator(".conversion-chart summary").nth(1).click()
    _screenshot(page, "conversion-by-campaign.png")

    # and Back returns to the sources, charts drawn again
    page.go_back()
    page.locator("table.conversion-table thead th").first.filter(has_text="Source").wait_for()
    assert _first_column(page) == ["Paid search", "Webinars", "No source"]
    page.wait_for_function(
        """() => [...document.querySelectorAll("canvas[data-chart]")].every((c) => c.dataset.drawn === "true")"""
    )
    assert page.evaluate(DRAWN) == [True, True]
    problems += browser.report.problems() + page.evaluate("window.__cspViolations")
    assert problems == []


def test_a_bad_date_range_shows_its_error_next_to_the_field_in_place(funnel_history, browser):  # noqa: F811
    # given
    browser.sign_in("charlie", "pw-charlie")
    browser.visit(f"/insights/?{Q1}")
    page = browser.page

    # when: an end before the start
    page.get_by_label("To").fill("2025-12-01")
    page.get_by_label("To").dispatch_event("change")

    # then
    error = page.locator(".conversion-filters .errorlist")
    error.wait_for()
    assert error.inner_text().strip().endswith("The end comes before the start.")
    assert page.locator("table.conversion-table").count() == 0
    assert browser.report.problems() == []
    _screenshot(page, "conversion-bad-range.png")
