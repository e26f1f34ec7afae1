"""The lead workspace in a real browser: a rep opens their lead and reads it (no CSP
violation, no outside request, no serious accessibility violation), pages back through
its timeline in place, and gets the 404 page for another rep's lead typed into the bar.

Headless Chromium as in tests/qualify_site/test_ui.py, at a 1280 x 800 laptop's size.
With QUALIFY_SCREENSHOTS=DIR the pages are saved there as lead-workspace*.png.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from leads.models import Outcome, OutcomeKind, Stage
from leads.services.sources import source_create
from routing.models import ACTIVE_ASSIGNMENT_STATUSES, Assignment, Team
from routing.services.actions import activity_log
from routing.services.assignments import lead_route
from routing.services.sla import sla_sweep
from scoring.services import rule_version_install_default
from tests.qualify_site import test_content_security_policy as csp_test
from tests.qualify_site.test_content_security_policy import browser  # noqa: F401 - the fixture
from tests.qualify_site.test_ui import _screenshot, _serious_violations
from tests.routing.world import make_lead, make_queue, make_rep, rule, sla
from tests.scoring.pipeline import company, days_ago, lead_by_email, page, person, send, track

pytestmark = csp_test.pytestmark

_PAGES = ["/pricing", "/docs/connectors", "/blog/data-contracts", "/pricing", "/docs/scheduling", "/customers"]
_PRODUCT = ["Signed Up", "Source Connected", "Job Run", "Job Run", "Invite Sent", "Job Run"]


def _routed(lead_id: int) -> Assignment:
    """The lead's assignment: the pipeline routes qualified leads itself once their batch commits."""
    return lead_route(lead_id=lead_id, trigger="qualified") or Assignment.objects.get(
        lead_id=lead_id, status__in=ACTIVE_ASSIGNMENT_STATUSES
    )


@pytest.fixture
def desk(transactional_db, alice, bob, charlie):
    """Alice holds a rich PQL (a month of web and product history, a call, a breach, a meeting)
    and a plain MQL; Bob holds a French lead. Built before the browser starts."""
    rule_version_install_default()
    alices = make_rep(alice, team=Team.objects.create(name="East", manager=charlie))
    rule("France", make_queue("France", [make_rep(bob)]), 1, {"field": "lead.country", "op": "eq", "value": "FR"})
    rule("Everyone else", make_queue("US", [alices]), 2)
    sla(Stage.MQL, minutes=60, warning=45)
    sla(Stage.PQL, minutes=30, warning=20)
    web = source_create(name="Website", kind="marketing")[0]
    app = source_create(name="Product", kind="product")[0]
    traits = {"firstName": "Ada", "lastName": "Lovelace", "country": "US", "department": "Data"}
    firm = {
        "name": "Acme Analytics",
        "domain": "acme.io",
        "industry": "Software",
        "employees": 420,
        "plan": "Team",
        "seats": 8,
    }
    send(web, [*person("u1", "ada@acme.io", title="VP Data", group_id="acme", **traits), company("u1", "acme", **firm)])
    send(web, [page("u1", path, at=days_ago(28 - 1.1 * index)) for index, path in enumerate(_PAGES * 4)])
    send(web, [track("u1", "Webinar Attended", at=days_ago(20), webinar="Data contracts 101")])
    send(
        app,
        [
            track("u1", event, at=days_ago(12 - 1.5 * index), connector="postgres", rows=1200 * (index + 1))
            for index, event in enumerate(_PRODUCT)
        ]
        + [track("u1", "Plan Limit Reached", at=days_ago(0.5), group_id="acme", limit="jobs per day")],
    )
    for index, (first, last, title) in enumerate(
        [("Grace", "Hopper", "Data Engineer"), ("Linus", "Torvalds", "Platform Lead"), ("Barbara", "Liskov", "CTO")]
    ):
        make_lead(
            f"{first.lower()}@acme.io",
            stage=[Stage.MQL, Stage.NEW, Stage.NURTURE][index],
            account=lead_by_email("ada@acme.io").account,
            first_name=first,
            last_name=last,
            title=title,
            owner=alice if index != 0 else bob,
        )
    rich = _routed(lead_by_email("ada@acme.io").id)
    Assignment.objects.filter(id=rich.id).update(due_at=timezone.now() - timedelta(minutes=3))
    sla_sweep()
    activity_log(assignment_id=rich.id, user=alice, kind="call", notes="Spoke to Ada: evaluating for Q1, wants a demo.")
    Outcome.objects.create(kind=OutcomeKind.MEETING, lead_id=rich.lead_id, occurred_at=timezone.now())

    send(web, [*person("u2", "mo@initech.com", title="Director of IT", firstName="Mo", lastName="Reyes", country="US")])
    send(web, [page("u2", "/pricing", at=days_ago(1)), track("u2", "Demo Requested", at=days_ago(0.2))])
    plain = _routed(lead_by_email("mo@initech.com").id)
    bens = lead_route(lead_id=make_lead("bruno@example.fr", country="FR", first_name="Bruno").id, trigger="qualified")
    return {"rich": rich.lead_id, "plain": plain.lead_id, "bens": bens.lead_id}


def _full_page_screenshot(page, name: str) -> None:
    if os.getenv("QUALIFY_SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["QUALIFY_SCREENSHOTS"]) / name), full_page=True)


def test_a_rep_opens_their_lead_workspace_and_pages_back_through_its_timeline(desk, browser):  # noqa: F811
    # given
    browser.sign_in("alice", "pw-alice")

    # when
    rich = browser.visit(f"/leads/{desk['rich']}/").problems() + _serious_violations(browser.page)
    _screenshot(browser.page, "lead-workspace.png")
    _full_page_screenshot(browser.page, "lead-workspace-full.png")
    browser.page.get_by_role("link", name="Older →").click()
    browser.page.wait_for_url(f"**/leads/{desk['rich']}/?page=2")
    older = browser.page.locator("#timeline").inner_text()
    # htmx settles the swap a moment after the address changes; the heading then takes focus.
    browser.page.wait_for_function("document.activeElement && document.activeElement.id === 'timeline-title'")
    _screenshot(browser.page, "lead-workspace-older.png")
    plain = browser.visit(f"/leads/{desk['plain']}/").problems() + _serious_violations(browser.page)
    _screenshot(browser.page, "lead-workspace-mql.png")

    # then: the timeline swapped in place (htmx), and the plain MQL has no activation checklist
    assert rich == [] and plain == []
    assert "page 2" in older and "Newer" in older
    assert browser.page.locator("#activation").count() == 0
    assert "Demo requested" in browser.page.locator(".score-card").inner_text()


def test_a_rep_who_types_another_reps_lead_url_gets_the_404_page(desk, browser):  # noqa: F811
    # given
    browser.sign_in("alice", "pw-alice")

    # when
    response = browser.page.goto(f"{browser.base_url}/leads/{desk['bens']}/")

    # then
    assert response is not None and response.status == 404
    assert "Bruno" not in browser.page.content()
    # the app's own page, with the way back to the rep's work
    assert browser.page.get_by_role("heading", name="Nothing here").is_visible()
    assert browser.page.get_by_role("link", name="Back to your work").is_visible()
