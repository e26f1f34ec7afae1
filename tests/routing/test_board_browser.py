"""The manager's board in a real browser: a manager signs in, lands on the board, sees a breach
and reassigns it in one click; the charts draw under the strict CSP with nothing fetched from
outside, and axe-core finds no serious or critical violation.

Headless Chromium at 1280 x 800, as tests/qualify_site/test_ui.py. With QUALIFY_SCREENSHOTS=DIR
the board is saved there (board*.png, full page).
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from leads.models import Stage
from routing.models import Assignment, Team
from routing.services.assignments import lead_route
from scoring.models import LeadScore, RuleVersion
from tests.qualify_site import test_content_security_policy as csp_test
from tests.qualify_site.test_content_security_policy import browser  # noqa: F401 - the fixture
from tests.qualify_site.test_ui import _serious_violations
from tests.routing.world import make_account, make_lead, make_queue, make_rep, rep_user, rule, sla

pytestmark = csp_test.pytestmark


@pytest.fixture
def team(transactional_db, django_user_model, charlie):
    """Charlie's team (Ann, Ben) with a week of work: Ada's lead breached, two at risk, some
    touched in and out of time, one rejected, a lead in the fallback queue and one decayed."""
    north = Team.objects.create(name="North", manager=charlie)
    ann = make_rep(rep_user(django_user_model, "ann", first_name="Ann", last_name="Archer"), north, capacity=8)
    ben = make_rep(rep_user(django_user_model, "ben", first_name="Ben", last_name="Brook"), north, capacity=8)
    rule("Germany", make_queue("Germany", [ann, ben]), 1, {"field": "lead.country", "op": "eq", "value": "DE"})
    sla(Stage.MQL, minutes=60, warning=45)
    now = timezone.now()
    acme = make_account("acme.io")

    def routed(first, last, **clock):
        lead = make_lead(f"{first.lower()}@acme.io", first_name=first, last_name=last, country="DE", account=acme)
        assignment = lead_route(lead_id=lead.id, trigger="qualified")
        if clock:
            Assignment.objects.filter(id=assignment.id).update(**clock)
        return assignment

    ada = routed("Ada", "Lovelace", due_at=now - timedelta(minutes=20), warn_at=now - timedelta(minutes=35))
    routed("Alan", "Turing", due_at=now + timedelta(minutes=10), warn_at=now - timedelta(minutes=5))
    routed("Edsger", "Dijkstra", due_at=now + timedelta(minutes=5), warn_at=now - timedelta(minutes=10))
    # First-touch history of the last days, a spread of business minutes.
    for index, (hours_ago, touch_minutes) in enumerate([(2, 3), (3, 12), (5, 40), (26, 90), (30, 300), (50, 8)]):
        assigned = now - timedelta(hours=hours_ago)
        routed(
            f"Grace{index}",
            "Hopper",
            assigned_at=assigned,
            first_touch_at=assigned + timedelta(minutes=touch_minutes),
            due_at=assigned + timedelta(minutes=60),
            warn_at=assigned + timedelta(minutes=45),
        )
    nowhere = make_lead("kenji@example.jp", first_name="Kenji", last_name="Sato", country="JP")
    lead_route(lead_id=nowhere.id, trigger="qualified")
    decayed = routed("Barbara", "Liskov")
    LeadScore.objects.create(
        lead=decayed.lead,
        version=RuleVersion.objects.create(number=1, name="Default"),
        total=41,
        is_below_threshold_since_qualification=True,
        computed_at=now,
    )
    return {"ada": ada, "ann": ann}


def _screenshot(page, name: str) -> None:
    if os.getenv("QUALIFY_SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["QUALIFY_SCREENSHOTS"]) / name), full_page=True)


def test_a_manager_lands_on_the_board_and_reassigns_a_breach_in_one_click(team, browser):  # noqa: F811
    # given
    browser.sign_in("charlie", "pw-charlie")
    landing = browser.page.url
    problems = browser.visit("/manager/").problems() + _serious_violations(browser.page)
    page = browser.page
    row = page.locator(f"#sla-{team['ada'].id}")
    assert "Ada Lovelace" in row.inner_text() and "Breached" in row.inner_text()
    _screenshot(page, "board.png")

    # when: one click, the next rep in the rotation
    row.get_by_role("button", name="Reassign").click()

    # then: the row gives way to the confirmation, in place, and no breach is left
    confirmation = page.get_by_role("status").filter(has_text="reassigned to")
    confirmation.wait_for()
    assert "Ada Lovelace reassigned to" in confirmation.inner_text()
    assert page.locator(f"#sla-{team['ada'].id}").count() == 0
    assert page.locator("table.board-sla tr.sla-breached").count() == 0
    assert page.locator("#board-counts .sla-breached").inner_text() == "0 breached"
    _screenshot(page, "board-reassigned.png")
    assert landing == browser.base_url + "/manager/"
    assert problems == []


def test_the_boards_charts_draw_under_the_csp_with_their_numbers_in_tables(team, browser):  # noqa: F811
    # given
    browser.sign_in("charlie", "pw-charlie")

    # when
    report = browser.visit("/manager/?period=last_30_days")
    page = browser.page

    # then: four canvases drawn by Chart.js, each with its table of numbers
    drawn = page.evaluate(
        """() => [...document.querySelectorAll("canvas[data-chart]")].map(
             (canvas) => canvas.dataset.drawn === "true" && window.Chart.getChart(canvas) !== undefined
                 && canvas.width > 0)"""
    )
    assert drawn == [True, True, True, True]
    assert page.locator("table.chart-table caption").all_text_contents() == [
        "Time to first touch (business time)",
        "First-touch SLA met per day",
        "Open queue by age",
        "Leads routed per rep",
    ]
    assert report.problems() == []
    page.locator(".board-chart summary").first.click()
    page.locator(".board-chart summary").nth(1).click()
    _screenshot(page, "board-chart-numbers.png")


def test_a_manager_changes_capacity_and_sees_a_refused_absence_next_to_its_field(team, browser):  # noqa: F811
    # given
    browser.sign_in("charlie", "pw-charlie")
    browser.visit("/manager/")
    page = browser.page
    row = page.locator(f"#rep-{team['ann'].id}")
    row.locator("summary").click()

    # when: a capacity, then an absence that ends before it starts
    row.get_by_label("Capacity").fill("12")
    row.get_by_role("button", name="Set").click()
    page.locator(f"#rep-{team['ann'].id} .saved").wait_for()
    row = page.locator(f"#rep-{team['ann'].id}")
    assert "/ 12" in row.locator("td").nth(1).inner_text()
    row.locator("summary").click()
    row.get_by_label("From").fill("2026-12-10T09:00")
    row.get_by_label("Until").fill("2026-12-09T09:00")
    row.get_by_role("button", name="Add absence").click()

    # then
    error = page.locator(f"#rep-{team['ann'].id} .errorlist")
    error.wait_for()
    assert "must end after it starts" in error.inner_text()
    assert _serious_violations(page) == []
    _screenshot(page, "board-rep-change.png")
