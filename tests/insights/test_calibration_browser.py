"""Calibration and what precedes buying in a real browser: marketing ops sign in, ask for a
version's calibration as of a date, and see three charts drawn by Chart.js under the strict CSP,
each with its numbers; axe-core finds no serious or critical violation. The reports are computed
by a task (eagerly here, as the request commits): the page first says "Computing…" and htmx's
poll swaps the figures in, charts drawn.

Headless Chromium at 1280 x 800. With QUALIFY_SCREENSHOTS=DIR the pages are saved there
(calibration*.png, precedes*.png, full page).
"""

import os
from pathlib import Path

import pytest

from tests.insights.calibration_history import HORIZON, calibration_history, calibration_version
from tests.insights.history import AS_OF
from tests.qualify_site import test_content_security_policy as csp_test
from tests.qualify_site.test_content_security_policy import browser  # noqa: F401 - the fixture
from tests.qualify_site.test_ui import _serious_violations

pytestmark = csp_test.pytestmark


@pytest.fixture
def version(transactional_db, olivia, charlie):
    """The hand-built history, and its readers, made before the browser starts (Playwright runs an event loop)."""
    calibration_history()
    return calibration_version()


def _screenshot(page, name: str) -> None:
    if os.getenv("QUALIFY_SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["QUALIFY_SCREENSHOTS"]) / name), full_page=True)


def test_marketing_ops_open_the_calibration_page_and_see_the_charts_drawn_under_the_csp(version, browser):  # noqa: F811
    # given
    browser.sign_in("olivia", "pw-olivia")
    browser.visit("/insights/calibration/")
    page = browser.page

    # when: a version, a date and a capacity chosen in the form
    page.get_by_label("Version").select_option(str(version.id))
    page.get_by_label("As of").fill(AS_OF.date().isoformat())
    page.get_by_label("Horizon (days)").fill(str(HORIZON))
    page.get_by_label("Capacity").fill("2")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state("networkidle")

    # then the figures replace "Computing…" within a poll (2 s), their charts drawn
    page.wait_for_selector("canvas[data-drawn='true']", timeout=10_000)
    assert page.locator("canvas[data-chart]").count() == 3
    report = browser.visit(page.url.removeprefix(browser.base_url))

    # then three canvases drawn by Chart.js, each with its table of numbers
    drawn = page.evaluate(
        """() => [...document.querySelectorAll("canvas[data-chart]")].map(
             (canvas) => canvas.dataset.drawn === "true" && window.Chart.getChart(canvas) !== undefined
                 && canvas.width > 0)"""
    )
    assert drawn == [True, True, True]
    assert page.locator("table.chart-table caption").all_text_contents() == [
        "Score distribution: converted and not",
        "Conversion by score band",
        "Reliability bins",
    ]
    assert "2 of 2" in page.locator("#capacity-title ~ dl").inner_text()
    assert report.problems() == []
    assert _serious_violations(page) == []
    _screenshot(page, "calibration.png")
    page.locator(".insights-chart summary").first.click()
    page.locator(".insights-chart summary").nth(2).click()
    _screenshot(page, "calibration-numbers.png")


def test_a_manager_reads_what_precedes_buying_with_what_does_not_predict_marked(version, browser):  # noqa: F811
    # given
    browser.sign_in("charlie", "pw-charlie")

    # when
    report = browser.visit("/insights/precedes/?before=2026-03-15&unit=lead&window=60")
    page = browser.page

    # then "Computing…" first, then (polled by htmx) the figures in its place
    assert "Computing…" in page.locator("#insights-report").inner_text()
    assert _serious_violations(page) == []
    _screenshot(page, "precedes-computing.png")
    page.wait_for_selector("#behaviours-table", timeout=10_000)
    assert page.get_by_role("heading", name="Behaviours events, and their notable property values").count() == 1
    assert page.locator("table.precedes tbody tr").count() > 0
    assert report.problems() == []
    assert _serious_violations(page) == []
    _screenshot(page, "precedes.png")
