"""A version's backtest page in a real browser: marketing ops start a backtest, and the finished
run's charts draw under the strict CSP, with nothing fetched from outside and no serious axe
violation. With QUALIFY_SCREENSHOTS=DIR the pages are saved there (backtest*.png, full page)."""

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.urls import reverse

from insights.models import BacktestStatus
from insights.services.backtest import backtest_start
from scoring.services.versions import rule_version_create_from_document, rule_version_publish
from tests.insights.history import DEMO_ONLY, days, demo_only_version, lead, outcome, track
from tests.qualify_site import test_content_security_policy as csp_test
from tests.qualify_site.test_content_security_policy import browser  # noqa: F401 - the fixture
from tests.qualify_site.test_ui import _serious_violations

pytestmark = csp_test.pytestmark

FIRST = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def finished(transactional_db, olivia):
    """A draft backtested over four weekly points beside the live version (committed: the run goes on commit)."""
    pricing = {**DEMO_ONLY, "engagement_rules": [{**DEMO_ONLY["engagement_rules"][0], "event": "Pricing Viewed"}]}
    rule_version_publish(version_id=rule_version_create_from_document(name="Pricing", document=pricing).id)
    draft = demo_only_version("Demo requests")
    for number in range(12):
        person = lead(f"person{number}@firm{number}.example", seen=FIRST - days(30))
        track(person, "Demo Requested" if number % 2 else "Pricing Viewed", FIRST - days(2) + days(number * 2))
        if number % 3 == 1:
            outcome("closed_won", FIRST + days(10 + number), person=person)
    run = backtest_start(
        version_id=draft.id,
        from_date=date(2026, 3, 1),
        to_date=date(2026, 3, 22),
        step_days=7,
        horizon_days=30,
        capacity=3,
        user=olivia,
    )
    run.refresh_from_db()
    assert run.status == BacktestStatus.DONE, run.error
    return run


def _screenshot(page, name: str) -> None:
    if os.getenv("QUALIFY_SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["QUALIFY_SCREENSHOTS"]) / name), full_page=True)


def test_the_backtest_page_draws_its_charts_under_the_csp_with_its_tables(finished, browser):  # noqa: F811
    # given
    browser.sign_in("olivia", "pw-olivia")

    # when
    report = browser.visit(reverse("admin:insights_backtestrun_version", args=[finished.version_id]))
    page = browser.page

    # then: both charts drawn by Chart.js, and the tables beside them
    drawn = page.evaluate(
        """() => [...document.querySelectorAll("canvas[data-chart]")].map(
             (canvas) => canvas.dataset.drawn === "true" && window.Chart.getChart(canvas) !== undefined)"""
    )
    assert drawn == [True, True]
    assert page.get_by_role("heading", name="Conversion by score band").count() == 1
    assert report.problems() == []
    assert _serious_violations(page) == []
    _screenshot(page, "backtest.png")


def test_marketing_ops_start_a_backtest_from_the_form(finished, browser):  # noqa: F811
    # given
    browser.sign_in("olivia", "pw-olivia")
    report = browser.visit(reverse("admin:insights_backtestrun_start", args=[finished.version_id]))
    page = browser.page
    assert report.problems() == [] and _serious_violations(page) == []
    _screenshot(page, "backtest-start.png")

    # when
    page.get_by_label("First point").fill("2026-03-01")
    page.get_by_label("Last point").fill("2026-03-08")
    page.get_by_label("Step (days)").fill("7")
    page.get_by_role("button", name="Start the backtest").click()
    page.wait_for_load_state("networkidle")

    # then: the new run's page (done already: tasks run eagerly here) shows its results
    assert page.url.endswith("/results/") and f"/{finished.pk}/" not in page.url
    assert page.get_by_role("heading", name="Whose status would change").count() == 1
