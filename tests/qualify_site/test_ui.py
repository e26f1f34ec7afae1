"""What each person sees in a real browser: they sign in on the one login page, land on
their work and see only their navigation; axe-core (axe-playwright-python, which ships
axe.min.js, so it runs offline) finds no serious or critical accessibility violation.

Headless Chromium as in test_content_security_policy.py, at a 1280 x 800 laptop's size.
With QUALIFY_SCREENSHOTS=DIR the pages are saved there as PNG files (ui-*.png).
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from leads.models import Stage
from routing.models import Assignment
from routing.services.assignments import lead_route
from scoring.models import LeadScore
from scoring.services import rule_version_install_default
from tests.qualify_site import test_content_security_policy as csp_test
from tests.qualify_site.test_content_security_policy import browser  # noqa: F401 - the fixture
from tests.routing.world import make_account, make_lead, make_queue, make_rep, rule, sla

# The same marks: needs PostgreSQL, slow, skipped only where Chromium is absent and services are not required.
pytestmark = csp_test.pytestmark

SERIOUS = ("serious", "critical")


@pytest.fixture
def desk(transactional_db, alice, charlie, olivia, admin_user_qualify):
    """Alice works the only queue and has one scored MQL lead open; a rule version is live."""
    live = rule_version_install_default()
    rule("All", make_queue("Inbound", [make_rep(alice)]), 1)
    sla(Stage.MQL, minutes=60, warning=45)
    lead = make_lead(
        "ada@acme.io", first_name="Ada", last_name="Lovelace", title="VP Data", account=make_account("acme.io")
    )
    LeadScore.objects.create(
        lead=lead,
        version=live,
        total=72,
        grade="A",
        is_mql=True,
        why="Hit plan limit · 5 active users this week · pricing page twice",
        computed_at=timezone.now(),
    )
    return {"lead": lead_route(lead_id=lead.id, trigger="qualified").lead_id}


def _serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']]}"
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]


def _screenshot(page, name: str) -> None:
    if os.getenv("QUALIFY_SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["QUALIFY_SCREENSHOTS"]) / name))


def _nav_labels(page) -> set[str]:
    return {label.strip() for label in page.locator("nav[aria-label=Main] a").all_inner_texts()}


@pytest.mark.parametrize(
    ("username", "landing", "labels"),
    [
        ("alice", "/queue/", {"My work", "Stage definitions"}),
        ("charlie", "/manager/", {"Board", "Conversion", "Assignments", "Routing", "Stage definitions"}),
        ("olivia", "/admin/scoring/ruleversion/", set()),
        ("root", "/admin/", set()),
    ],
    ids=["rep", "manager", "marketing-ops", "admin"],
)
def test_each_role_signs_in_on_the_login_page_and_lands_on_its_work(desk, browser, username, landing, labels):  # noqa: F811
    # when
    browser.sign_in(username, "pw-" + username)

    # then: the admin pages have the admin's own header, with its way back to the app
    assert browser.page.url == browser.base_url + landing
    if landing.startswith("/admin/"):
        assert browser.page.locator("#site-name").inner_text() == "Qualify administration"
        links = browser.page.locator("nav.qualify-links a").all_inner_texts()
        assert links == ["← Back to Qualify", "Stage definitions"]
    else:
        assert _nav_labels(browser.page) == labels


@pytest.mark.parametrize(
    ("username", "labels"),
    [
        ("charlie", {"Board", "Conversion", "Assignments", "Routing", "Stage definitions"}),
        ("olivia", {"Rule versions", "Conversion", "Stage definitions"}),
        ("root", {"Admin", "Board", "Conversion", "Assignments", "Routing", "Rule versions", "Stage definitions"}),
    ],
    ids=["manager", "marketing-ops", "admin"],
)
def test_the_app_shows_each_role_only_its_navigation(desk, browser, username, labels):  # noqa: F811
    # given
    browser.sign_in(username, "pw-" + username)

    # when
    browser.visit("/scoring/definitions/")

    # then
    assert _nav_labels(browser.page) == labels


def test_the_login_page_rep_landing_and_lead_page_have_no_serious_accessibility_violation(desk, browser):  # noqa: F811
    # given
    found = {}

    # when
    found["/accounts/login/"] = browser.visit("/accounts/login/").problems() + _serious_violations(browser.page)
    _screenshot(browser.page, "ui-login.png")
    browser.sign_in("alice", "pw-alice")
    found["rep landing"] = browser.visit("/").problems() + _serious_violations(browser.page)
    _screenshot(browser.page, "ui-rep-home.png")
    browser.page.get_by_role("link", name="Ada Lovelace").click()
    browser.page.wait_for_load_state("networkidle")
    found["lead page"] = browser.visit(f"/leads/{desk['lead']}/").problems() + _serious_violations(browser.page)
    _screenshot(browser.page, "ui-lead.png")

    # then
    assert {page: problems for page, problems in found.items() if problems} == {}


def test_the_admin_is_branded_qualify_with_no_serious_accessibility_violation(desk, browser):  # noqa: F811
    # given
    browser.sign_in("root", "pw-root")

    # when
    report = browser.visit("/admin/")
    violations = _serious_violations(browser.page)
    _screenshot(browser.page, "ui-admin.png")

    # then
    assert browser.page.title() == "Administration | Qualify administration"
    assert report.problems() + violations == []


def test_a_wrong_password_is_said_in_words_on_the_sign_in_page(desk, browser):  # noqa: F811
    # when
    browser.sign_in("alice", "wrong")

    # then
    assert "enter a correct username and password" in browser.page.get_by_role("alert").inner_text()
    assert _serious_violations(browser.page) == []


@pytest.fixture
def breached_after_ada(desk):
    """A PQL routed to Alice after Ada, already past its first-touch due time (set before the
    browser starts: the database is not touched from Playwright's event loop)."""
    grace = make_lead("grace@navy.mil", stage=Stage.PQL, first_name="Grace", last_name="Hopper", title="Admiral")
    breached = lead_route(lead_id=grace.id, trigger="qualified")
    Assignment.objects.filter(id=breached.id).update(due_at=timezone.now() - timedelta(minutes=5))


def test_a_rep_lands_on_their_queue_in_order_with_the_legend_and_no_serious_violation(
    breached_after_ada,
    browser,  # noqa: F811
):
    # when: the breached PQL, routed after Ada's on-track MQL, comes first
    browser.sign_in("alice", "pw-alice")
    landing = browser.page.url
    problems = browser.visit("/queue/").problems() + _serious_violations(browser.page)
    _screenshot(browser.page, "ui-queue.png")

    # then: no CSP violation, outside request or serious accessibility violation either
    assert landing == browser.base_url + "/queue/"
    assert browser.page.locator("table.queue tbody td.lead a").all_inner_texts() == ["Grace Hopper", "Ada Lovelace"]
    assert "breached first, then at risk" in browser.page.locator(".queue-legend").inner_text()
    assert problems == []


def test_the_app_and_the_admin_show_qualifys_icon_and_ask_for_nothing_that_is_missing(desk, browser):  # noqa: F811
    # given: every answer the browser gets, the requests it makes on its own (the icon) included
    failed = []
    browser.page.on("response", lambda response: response.status >= 400 and failed.append(response.url))

    # when
    browser.sign_in("root", "pw-root")
    browser.visit("/scoring/definitions/")
    app_icon = browser.page.locator("link[rel=icon]").get_attribute("href")
    browser.visit("/admin/")
    admin_icon = browser.page.locator("link[rel=icon]").get_attribute("href")

    # then
    assert app_icon == admin_icon and app_icon.endswith("favicon.svg")
    assert browser.page.request.get(browser.base_url + app_icon).ok
    assert failed == []
